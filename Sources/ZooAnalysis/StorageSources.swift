import Foundation
import ZooStorage

extension TokenStore: TokenSource {
  /// The store's subset names (`metadata.subsets`).
  public var subsetNames: [String] { metadata.subsets }
}

/// A per-token loss file (`ZooStorage.LossFileReader`) as a ``LossSource``, under a run label.
public struct LossFileSource: LossSource {
  /// The open file.
  public let reader: LossFileReader
  /// What the analysis needs of its attributes; `run` is the label given to it.
  public let info: LossSourceInfo

  /// Opens the loss file at `path`, labelled `run` (default: its `run` attribute, else its name).
  public init(path: String, run: String? = nil) throws {
    reader = try LossFileReader(path: path)
    let m = reader.metadata
    let label = run ?? (m.run.isEmpty ? URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent : m.run)
    info = LossSourceInfo(
      path: path, run: label, tokenStore: m.tokenStore, tokenStoreSHA256: m.tokenStoreSHA256, rangeStart: m.rangeStart,
      rangeEnd: m.rangeEnd)
  }

  /// Number of losses.
  public var count: Int { reader.count }
  /// Window starts, indices into the range.
  public func windowStarts() throws -> [UInt64] { try reader.windowStarts() }
  /// Losses of `range`.
  public func readLosses(_ range: Range<Int>) throws -> [Float] { try reader.readLosses(range) }
}
