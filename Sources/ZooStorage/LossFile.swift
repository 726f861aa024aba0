import CHDF5
import Foundation
import ZooSupport

/// The attributes of a per-token loss file (docs/FORMATS.md, "Per-token losses").
public struct LossFileMetadata: Sendable, Equatable {
  /// File name of the token store the losses are about.
  public var tokenStore: String
  /// sha256 of that store.
  public var tokenStoreSHA256: String
  /// First token of the evaluated range (index into the store's `/tokens`).
  public var rangeStart: Int
  /// End of the evaluated range (exclusive); `/loss` has `rangeEnd - rangeStart` entries.
  public var rangeEnd: Int
  /// Window length the model saw.
  public var seqLen: Int
  /// Registry name of the run.
  public var run: String
  /// The model configuration, as JSON.
  public var modelJSON: String

  /// Metadata with every field given.
  public init(
    tokenStore: String, tokenStoreSHA256: String, rangeStart: Int, rangeEnd: Int, seqLen: Int, run: String,
    modelJSON: String
  ) {
    self.tokenStore = tokenStore
    self.tokenStoreSHA256 = tokenStoreSHA256
    self.rangeStart = rangeStart
    self.rangeEnd = rangeEnd
    self.seqLen = seqLen
    self.run = run
    self.modelJSON = modelJSON
  }

  /// The `format` attribute of every loss file.
  public static let format = "zoo.losses.v1"
}

/// Writes per-token loss files: `/loss` float32 [M] (NaN where nothing was predicted: the
/// first token of each window) and `/window_starts` uint64 [W], indices into the range.
public enum LossFile {
  /// Writes atomically (temporary file, then rename). `losses.count` must be
  /// `rangeEnd - rangeStart`; window starts must increase and start at 0 when there are losses.
  public static func write(path: String, losses: [Float], windowStarts: [UInt64], metadata: LossFileMetadata) throws {
    guard losses.count == metadata.rangeEnd - metadata.rangeStart else {
      throw StorageError.invalid(
        path: path, reason: "\(losses.count) losses for the range \(metadata.rangeStart)..<\(metadata.rangeEnd)")
    }
    guard zip(windowStarts, windowStarts.dropFirst()).allSatisfy({ $0 < $1 }),
      windowStarts.last.map({ $0 < UInt64(losses.count) }) ?? true, losses.isEmpty || windowStarts.first == 0
    else {
      throw StorageError.invalid(path: path, reason: "window starts must increase from 0 inside the range")
    }
    try AtomicFile.createParentDirectory(of: path)
    let temporary = AtomicFile.temporaryPath(for: path)
    do {
      let file = try HDF5File.create(temporary, reportedAs: path)
      try file.writeDataset("loss", losses, fileType: zh5_t_ieee_f32le(), memoryType: zh5_t_native_float())
      try file.writeDataset("window_starts", windowStarts, fileType: zh5_t_std_u64le(), memoryType: zh5_t_native_uint64())
      try file.setAttribute("format", LossFileMetadata.format)
      try file.setAttribute("token_store", metadata.tokenStore)
      try file.setAttribute("token_store_sha256", metadata.tokenStoreSHA256)
      try file.setAttribute("range_start", metadata.rangeStart)
      try file.setAttribute("range_end", metadata.rangeEnd)
      try file.setAttribute("seq_len", metadata.seqLen)
      try file.setAttribute("run", metadata.run)
      try file.setAttribute("model", metadata.modelJSON)
      try file.close()
      try AtomicFile.commit(temporary: temporary, to: path)
    } catch {
      unlink(temporary)
      throw error
    }
  }
}

/// Reads a per-token loss file.
public final class LossFileReader {
  /// Its attributes.
  public let metadata: LossFileMetadata
  private let file: HDF5File

  /// Opens a loss file; another kind of file is a clear error.
  public init(path: String) throws {
    file = try HDF5File.open(path)
    let format = file.hasAttribute("format") ? (try? file.stringAttribute("format")) ?? "" : ""
    guard format == LossFileMetadata.format else {
      throw StorageError.wrongFormat(path: path, expected: LossFileMetadata.format, found: format)
    }
    metadata = LossFileMetadata(
      tokenStore: try file.stringAttribute("token_store"), tokenStoreSHA256: try file.stringAttribute("token_store_sha256"),
      rangeStart: try file.intAttribute("range_start"), rangeEnd: try file.intAttribute("range_end"),
      seqLen: try file.intAttribute("seq_len"), run: try file.stringAttribute("run"),
      modelJSON: try file.stringAttribute("model"))
    let count = try file.datasetLength("loss")
    guard count == metadata.rangeEnd - metadata.rangeStart else {
      throw StorageError.invalid(path: path, reason: "/loss has \(count) entries for the range \(metadata.rangeStart)..<\(metadata.rangeEnd)")
    }
  }

  /// Number of losses (the range's length).
  public var count: Int { metadata.rangeEnd - metadata.rangeStart }

  /// Window starts, indices into the range.
  public func windowStarts() throws -> [UInt64] {
    try file.readAll("window_starts", as: UInt64.self, memoryType: zh5_t_native_uint64(), zero: 0)
  }

  /// Losses of `range` (indices into the evaluated range).
  public func readLosses(_ range: Range<Int>) throws -> [Float] {
    var out = [Float](repeating: 0, count: range.count)
    try out.withUnsafeMutableBytes { buffer in
      guard let base = buffer.baseAddress else { return }
      try file.read("loss", range: range, into: base, memoryType: zh5_t_native_float())
    }
    return out
  }
}
