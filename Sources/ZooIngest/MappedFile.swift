import Foundation

/// A whole file mapped read-only into memory, for inputs too large to read into an array
/// (a Pile-scale Megatron `.bin` is hundreds of GB). The kernel pages it in as it is read.
///
/// The file must not shrink while mapped: reading a page past its new end is a SIGBUS, as it is
/// for NumPy's `memmap`, which Megatron's own reader uses.
final class MappedFile: @unchecked Sendable {
  /// The file's path.
  let path: String
  /// Its size in bytes.
  let count: Int
  /// The mapped bytes (nil for an empty file).
  let base: UnsafeRawPointer?

  /// Maps `path`; a missing or unreadable file is a ``MegatronFormatError`` naming it.
  init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      let reason = errno == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(errno)))"
      throw MegatronFormatError(path: path, reason: reason)
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
      throw MegatronFormatError(path: path, reason: "cannot stat: \(String(cString: strerror(errno)))")
    }
    guard info.st_mode & S_IFMT == S_IFREG else { throw MegatronFormatError(path: path, reason: "not a regular file") }
    count = Int(info.st_size)
    guard count > 0 else {
      base = nil
      return
    }
    let address = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
    guard let address, address != MAP_FAILED else {
      throw MegatronFormatError(path: path, reason: "cannot map: \(String(cString: strerror(errno)))")
    }
    madvise(address, count, MADV_SEQUENTIAL)
    base = UnsafeRawPointer(address)
  }

  deinit {
    if let base { munmap(UnsafeMutableRawPointer(mutating: base), count) }
  }

  /// The bytes `range`, which must lie inside the file.
  func bytes(_ range: Range<Int>) -> UnsafeRawBufferPointer {
    precondition(range.lowerBound >= 0 && range.upperBound <= count, "\(path): bytes \(range) of \(count)")
    guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
  }

  /// The little-endian integer of type `T` at byte `offset`.
  @inline(__always) func load<T: FixedWidthInteger>(_ offset: Int, as: T.Type) -> T {
    T(littleEndian: base!.loadUnaligned(fromByteOffset: offset, as: T.self))
  }
}
