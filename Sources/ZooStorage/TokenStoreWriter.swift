import CHDF5
import Foundation
import ZooSupport

/// Writes one token store (DESIGN.md): documents are appended with an EOT after each, and
/// the file appears at its final path only on ``commit(source:sourceSHA256:skippedLines:)``.
///
/// `/tokens` is chunked (1 Mi elements), uncompressed, appended through whole-chunk buffers.
public final class TokenStoreWriter {
  /// `<|endoftext|>`, appended after every document.
  public static let eot: UInt16 = 50256

  private let path: String
  private let temporaryPath: String
  private var file: HDF5File?
  private let tokens: HDF5Appender<UInt16>
  private var offsets: [UInt64] = [0]
  private var documentSubsets: [UInt8] = []
  private var subsets: [String] = []
  private var subsetIndex: [String: UInt8] = [:]

  /// Creates a temporary file beside `path`; nothing appears at `path` until commit().
  public init(path: String) throws {
    self.path = path
    temporaryPath = AtomicFile.temporaryPath(for: path)
    let file = try HDF5File.create(temporaryPath, reportedAs: path)
    do {
      tokens = try HDF5Appender(file: file, name: "tokens", fileType: zh5_t_std_u16le(), memoryType: zh5_t_native_uint16())
    } catch {
      try? file.close()
      unlink(temporaryPath)
      throw error
    }
    self.file = file
  }

  deinit { if file != nil { abort() } }

  /// Appends one document's tokens, then EOT; `subset` is its Pile set name.
  public func appendDocument(_ ids: UnsafeBufferPointer<UInt16>, subset: String) throws {
    guard file != nil else { throw StorageError.invalid(path: path, reason: "store already committed or aborted") }
    let index: UInt8
    if let known = subsetIndex[subset] {
      index = known
    } else {
      guard subsets.count < 256 else {
        throw StorageError.invalid(path: path, reason: "more than 256 distinct subsets (pile_set_name)")
      }
      index = UInt8(subsets.count)
      subsetIndex[subset] = index
      subsets.append(subset)
    }
    try tokens.append(ids)
    try tokens.append(TokenStoreWriter.eot)
    offsets.append(UInt64(tokens.total))
    documentSubsets.append(index)
  }

  /// Writes offsets, subsets and attributes, closes, and renames onto the final path.
  @discardableResult
  public func commit(source: String, sourceSHA256: String, skippedLines: Int) throws -> TokenStoreMetadata {
    guard let file else { throw StorageError.invalid(path: path, reason: "store already committed or aborted") }
    do {
      try tokens.close()
      try file.writeDataset("doc_offsets", offsets, fileType: zh5_t_std_u64le(), memoryType: zh5_t_native_uint64())
      try file.writeDataset("doc_subset", documentSubsets, fileType: zh5_t_std_u8le(), memoryType: zh5_t_native_uint8())
      let metadata = TokenStoreMetadata(
        subsets: subsets, source: source, sourceSHA256: sourceSHA256, documents: documentSubsets.count,
        tokens: tokens.total, skippedLines: skippedLines,
        createdAt: ISO8601DateFormatter().string(from: Date()), zooVersion: zooVersion)
      try file.setAttribute("format", TokenStoreMetadata.format)
      try file.setAttribute("tokenizer", "gpt2")
      try file.setAttribute("vocab_size", 50257)
      try file.setAttribute("eot", Int(TokenStoreWriter.eot))
      try file.setAttribute("subsets", metadata.subsets)
      try file.setAttribute("source", metadata.source)
      try file.setAttribute("source_sha256", metadata.sourceSHA256)
      try file.setAttribute("documents", metadata.documents)
      try file.setAttribute("tokens", metadata.tokens)
      try file.setAttribute("skipped_lines", metadata.skippedLines)
      try file.setAttribute("created_at", metadata.createdAt)
      try file.setAttribute("zoo_version", metadata.zooVersion)
      try file.close()
      self.file = nil
      try AtomicFile.commit(temporary: temporaryPath, to: path)
      return metadata
    } catch {
      abort()
      throw error
    }
  }

  /// Closes and deletes the temporary file.
  public func abort() {
    try? tokens.close()
    try? file?.close()
    file = nil
    unlink(temporaryPath)
  }
}
