import CHDF5
import Foundation

/// A thin wrapper over the ~20 serial-HDF5 calls Zoo needs: files, 1-D datasets (appendable
/// or whole), and scalar/list attributes. Every failure becomes a ``StorageError`` naming the
/// file; HDF5's own error printing is silenced.
final class HDF5File {
  /// The path errors name.
  let path: String
  private(set) var id: hid_t

  private static let silenceErrors: Void = { H5Eset_auto2(0, nil, nil) }()

  private init(path: String, id: hid_t) {
    self.path = path
    self.id = id
  }

  /// Creates (truncating) a file; errors name `reportedPath` (the final path of a temporary file).
  static func create(_ path: String, reportedAs reportedPath: String? = nil) throws -> HDF5File {
    _ = silenceErrors
    let id = H5Fcreate(path, zh5_f_acc_trunc(), zh5_p_default(), zh5_p_default())
    let file = HDF5File(path: reportedPath ?? path, id: id)
    _ = try file.checkID(id, "creating the file")
    return file
  }

  /// Opens an existing file read-only.
  static func open(_ path: String) throws -> HDF5File {
    _ = silenceErrors
    guard FileManager.default.fileExists(atPath: path) else { throw StorageError.missing(path: path) }
    guard H5Fis_hdf5(path) > 0 else {
      throw StorageError.wrongFormat(path: path, expected: "HDF5", found: "")
    }
    let id = H5Fopen(path, zh5_f_acc_rdonly(), zh5_p_default())
    guard id >= 0 else { throw StorageError.hdf5(path: path, operation: "opening the file") }
    return HDF5File(path: path, id: id)
  }

  /// Closes the file (flushing it); later calls fail.
  func close() throws {
    guard id >= 0 else { return }
    let status = H5Fclose(id)
    id = -1
    try check(status, "closing the file")
  }

  deinit { if id >= 0 { H5Fclose(id) } }

  func check(_ status: herr_t, _ operation: @autoclosure () -> String) throws {
    if status < 0 { throw failure(operation()) }
    errno = 0
  }

  func checkID(_ id: hid_t, _ operation: @autoclosure () -> String) throws -> hid_t {
    if id < 0 { throw failure(operation()) }
    errno = 0
    return id
  }

  /// The error of a failed call; a full disk (or another failed system write) is named, since
  /// HDF5's silenced error stack would otherwise hide it.
  private func failure(_ operation: String) -> StorageError {
    let code = errno
    errno = 0
    guard [ENOSPC, EDQUOT, EFBIG, EIO].contains(code) else { return .hdf5(path: path, operation: operation) }
    return .hdf5(path: path, operation: operation + ": " + String(cString: strerror(code)))
  }

  // MARK: Datasets

  /// Writes a whole 1-D dataset (contiguous) of `values` with file type `fileType`.
  func writeDataset<T>(_ name: String, _ values: [T], fileType: hid_t, memoryType: hid_t) throws {
    var dims: [hsize_t] = [hsize_t(values.count)]
    let space = try checkID(H5Screate_simple(1, &dims, nil), "creating the dataspace of /\(name)")
    defer { H5Sclose(space) }
    let dset = try checkID(
      H5Dcreate2(id, name, fileType, space, zh5_p_default(), zh5_p_default(), zh5_p_default()), "creating /\(name)")
    var closed = false
    defer { if !closed { H5Dclose(dset) } }
    if !values.isEmpty {
      try values.withUnsafeBytes {
        try check(H5Dwrite(dset, memoryType, zh5_s_all(), zh5_s_all(), zh5_p_default(), $0.baseAddress), "writing /\(name)")
      }
    }
    closed = true
    try check(H5Dclose(dset), "writing /\(name)")
  }

  /// Number of elements of a 1-D dataset.
  func datasetLength(_ name: String) throws -> Int {
    let dset = try openDataset(name)
    defer { H5Dclose(dset) }
    let space = try checkID(H5Dget_space(dset), "reading the shape of /\(name)")
    defer { H5Sclose(space) }
    guard H5Sget_simple_extent_ndims(space) == 1 else {
      throw StorageError.invalid(path: path, reason: "/\(name) is not one-dimensional")
    }
    var dims: [hsize_t] = [0]
    try check(H5Sget_simple_extent_dims(space, &dims, nil), "reading the shape of /\(name)")
    return Int(dims[0])
  }

  /// Reads `range` of a 1-D dataset into `buffer` (converted to `memoryType`).
  func read(_ name: String, range: Range<Int>, into buffer: UnsafeMutableRawPointer, memoryType: hid_t) throws {
    let length = try datasetLength(name)
    guard range.lowerBound >= 0, range.upperBound <= length else {
      throw StorageError.invalid(path: path, reason: "range \(range) outside /\(name) of length \(length)")
    }
    if range.isEmpty { return }
    let dset = try openDataset(name)
    defer { H5Dclose(dset) }
    let fileSpace = try checkID(H5Dget_space(dset), "selecting /\(name)")
    defer { H5Sclose(fileSpace) }
    var start: [hsize_t] = [hsize_t(range.lowerBound)]
    var count: [hsize_t] = [hsize_t(range.count)]
    try check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &count, nil), "selecting /\(name)")
    let memSpace = try checkID(H5Screate_simple(1, &count, nil), "selecting /\(name)")
    defer { H5Sclose(memSpace) }
    try check(H5Dread(dset, memoryType, memSpace, fileSpace, zh5_p_default(), buffer), "reading /\(name)")
  }

  /// Reads a whole 1-D dataset.
  func readAll<T>(_ name: String, as: T.Type, memoryType: hid_t, zero: T) throws -> [T] {
    let n = try datasetLength(name)
    var out = [T](repeating: zero, count: n)
    try out.withUnsafeMutableBytes { try read(name, range: 0..<n, into: $0.baseAddress!, memoryType: memoryType) }
    return out
  }

  private func openDataset(_ name: String) throws -> hid_t {
    guard H5Lexists(id, name, zh5_p_default()) > 0 else {
      throw StorageError.invalid(path: path, reason: "no dataset /\(name)")
    }
    return try checkID(H5Dopen2(id, name, zh5_p_default()), "opening /\(name)")
  }

  // MARK: Attributes (on the root group)

  /// A variable-length UTF-8 string type (caller closes it).
  private func utf8StringType() throws -> hid_t {
    let type = try checkID(H5Tcopy(zh5_t_c_s1()), "making a string type")
    H5Tset_size(type, zh5_t_variable())
    H5Tset_cset(type, H5T_CSET_UTF8)
    return type
  }

  func setAttribute(_ name: String, _ value: String) throws {
    let type = try utf8StringType()
    defer { H5Tclose(type) }
    let space = try checkID(H5Screate(H5S_SCALAR), "creating attribute \(name)")
    defer { H5Sclose(space) }
    let attr = try checkID(H5Acreate2(id, name, type, space, zh5_p_default(), zh5_p_default()), "creating attribute \(name)")
    defer { H5Aclose(attr) }
    try value.withCString { cString in
      var pointer: UnsafePointer<CChar>? = cString
      try check(H5Awrite(attr, type, &pointer), "writing attribute \(name)")
    }
  }

  func setAttribute(_ name: String, _ values: [String]) throws {
    let type = try utf8StringType()
    defer { H5Tclose(type) }
    var dims: [hsize_t] = [hsize_t(values.count)]
    let space = try checkID(H5Screate_simple(1, &dims, nil), "creating attribute \(name)")
    defer { H5Sclose(space) }
    let attr = try checkID(H5Acreate2(id, name, type, space, zh5_p_default(), zh5_p_default()), "creating attribute \(name)")
    defer { H5Aclose(attr) }
    let cStrings = values.map { strdup($0) }
    defer { cStrings.forEach { free($0) } }
    var pointers: [UnsafePointer<CChar>?] = cStrings.map { UnsafePointer($0) }
    try check(H5Awrite(attr, type, &pointers), "writing attribute \(name)")
  }

  func setAttribute(_ name: String, _ value: Int) throws {
    let space = try checkID(H5Screate(H5S_SCALAR), "creating attribute \(name)")
    defer { H5Sclose(space) }
    let attr = try checkID(
      H5Acreate2(id, name, zh5_t_std_i64le(), space, zh5_p_default(), zh5_p_default()), "creating attribute \(name)")
    defer { H5Aclose(attr) }
    var v = Int64(value)
    try check(H5Awrite(attr, zh5_t_native_int64(), &v), "writing attribute \(name)")
  }

  func hasAttribute(_ name: String) -> Bool { H5Aexists(id, name) > 0 }

  func intAttribute(_ name: String) throws -> Int {
    let attr = try openAttribute(name)
    defer { H5Aclose(attr) }
    var v: Int64 = 0
    try check(H5Aread(attr, zh5_t_native_int64(), &v), "reading attribute \(name)")
    return Int(v)
  }

  func stringAttribute(_ name: String) throws -> String {
    try stringsAttribute(name, scalar: true).first ?? ""
  }

  func stringListAttribute(_ name: String) throws -> [String] {
    try stringsAttribute(name, scalar: false)
  }

  private func openAttribute(_ name: String) throws -> hid_t {
    guard hasAttribute(name) else { throw StorageError.invalid(path: path, reason: "missing attribute '\(name)'") }
    return try checkID(H5Aopen(id, name, zh5_p_default()), "opening attribute \(name)")
  }

  /// Reads a string attribute (scalar or 1-D; variable- or fixed-length).
  private func stringsAttribute(_ name: String, scalar: Bool) throws -> [String] {
    let attr = try openAttribute(name)
    defer { H5Aclose(attr) }
    let fileType = try checkID(H5Aget_type(attr), "reading attribute \(name)")
    defer { H5Tclose(fileType) }
    guard H5Tget_class(fileType) == H5T_STRING else {
      throw StorageError.invalid(path: path, reason: "attribute '\(name)' is not a string")
    }
    let space = try checkID(H5Aget_space(attr), "reading attribute \(name)")
    defer { H5Sclose(space) }
    let count = Int(H5Sget_simple_extent_npoints(space))
    if H5Tis_variable_str(fileType) > 0 {
      let type = try utf8StringType()
      defer { H5Tclose(type) }
      var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
      try check(H5Aread(attr, type, &pointers), "reading attribute \(name)")
      defer { for p in pointers where p != nil { H5free_memory(p) } }
      return pointers.map { $0.map { String(cString: $0) } ?? "" }
    }
    let size = H5Tget_size(fileType)
    var bytes = [CChar](repeating: 0, count: size * count)
    try check(H5Aread(attr, fileType, &bytes), "reading attribute \(name)")
    return (0..<count).map { i in
      let slice = bytes[i * size..<(i + 1) * size].prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
      return String(decoding: slice, as: UTF8.self)
    }
  }
}

/// An extendible, chunked 1-D dataset appended through a Swift buffer of whole chunks
/// (docs/FORMATS.md, "Implementation notes": small appends into a chunked dataset are slow otherwise).
final class HDF5Appender<T> {
  private let file: HDF5File
  private let name: String
  private var dataset: hid_t
  private let memoryType: hid_t
  private let chunk: Int
  private var buffer: [T] = []
  private(set) var count = 0

  init(file: HDF5File, name: String, fileType: hid_t, memoryType: hid_t, chunk: Int = 1 << 20) throws {
    self.file = file
    self.name = name
    self.memoryType = memoryType
    self.chunk = chunk
    var dims: [hsize_t] = [0]
    var maxDims: [hsize_t] = [zh5_s_unlimited()]
    let space = try file.checkID(H5Screate_simple(1, &dims, &maxDims), "creating /\(name)")
    defer { H5Sclose(space) }
    let dcpl = try file.checkID(H5Pcreate(zh5_p_dataset_create()), "creating /\(name)")
    defer { H5Pclose(dcpl) }
    var chunkDims: [hsize_t] = [hsize_t(chunk)]
    try file.check(H5Pset_chunk(dcpl, 1, &chunkDims), "chunking /\(name)")
    let dapl = try file.checkID(H5Pcreate(zh5_p_dataset_access()), "creating /\(name)")
    defer { H5Pclose(dapl) }
    try file.check(H5Pset_chunk_cache(dapl, 12421, 16 << 20, 1.0), "setting the chunk cache of /\(name)")
    dataset = try file.checkID(H5Dcreate2(file.id, name, fileType, space, zh5_p_default(), dcpl, dapl), "creating /\(name)")
    buffer.reserveCapacity(chunk)
  }

  deinit { if dataset >= 0 { H5Dclose(dataset) } }

  /// Writes what is buffered and closes the dataset (before the file is closed).
  func close() throws {
    try flush()
    guard dataset >= 0 else { return }
    let status = H5Dclose(dataset)
    dataset = -1
    try file.check(status, "writing /\(name)")
  }

  func append(_ values: UnsafeBufferPointer<T>) throws {
    var rest = values[...]
    while !rest.isEmpty {
      let take = min(chunk - buffer.count, rest.count)
      buffer.append(contentsOf: rest.prefix(take))
      rest = rest.dropFirst(take)
      if buffer.count == chunk { try flush() }
    }
  }

  func append(_ value: T) throws {
    buffer.append(value)
    if buffer.count == chunk { try flush() }
  }

  /// Writes the buffered values.
  func flush() throws {
    guard !buffer.isEmpty else { return }
    var newSize: [hsize_t] = [hsize_t(count + buffer.count)]
    try file.check(H5Dset_extent(dataset, &newSize), "extending /\(name)")
    let fileSpace = try file.checkID(H5Dget_space(dataset), "selecting /\(name)")
    defer { H5Sclose(fileSpace) }
    var start: [hsize_t] = [hsize_t(count)]
    var n: [hsize_t] = [hsize_t(buffer.count)]
    try file.check(H5Sselect_hyperslab(fileSpace, H5S_SELECT_SET, &start, nil, &n, nil), "selecting /\(name)")
    let memSpace = try file.checkID(H5Screate_simple(1, &n, nil), "selecting /\(name)")
    defer { H5Sclose(memSpace) }
    try buffer.withUnsafeBytes {
      try file.check(H5Dwrite(dataset, memoryType, memSpace, fileSpace, zh5_p_default(), $0.baseAddress), "writing /\(name)")
    }
    count += buffer.count
    buffer.removeAll(keepingCapacity: true)
  }

  /// Values appended so far, buffered ones included.
  var total: Int { count + buffer.count }
}
