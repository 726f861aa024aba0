import CHDF5
import Foundation
import ZooSupport

/// Writes one token store (FORMATS.md): documents are appended, each with the vocabulary's
/// end-of-text id after it unless its ids already end it, and the file appears at its final path
/// only on ``commit(source:sourceSHA256:skippedLines:)``.
///
/// `/tokens` is uint16 when the vocabulary fits in 16 bits and uint32 otherwise; it is chunked
/// (1 Mi elements), uncompressed, appended through whole-chunk buffers.
public final class TokenStoreWriter {
  /// What the ids mean.
  public let vocabulary: TokenVocabulary
  private let path: String
  private let temporaryPath: String
  private var file: HDF5File?
  private let tokens: TokenAppender
  private var offsets: [UInt64] = [0]
  private var documentSubsets: [UInt8] = []
  private var subsets: [String] = []
  private var subsetIndex: [String: UInt8] = [:]

  /// Creates a temporary file beside `path`; nothing appears at `path` until commit().
  public init(path: String, vocabulary: TokenVocabulary) throws {
    self.path = path
    self.vocabulary = vocabulary
    temporaryPath = AtomicFile.temporaryPath(for: path)
    let file = try HDF5File.create(temporaryPath, reportedAs: path)
    do {
      tokens = try TokenAppender(file: file, sixteenBit: vocabulary.storesSixteenBitIDs)
    } catch {
      try? file.close()
      unlink(temporaryPath)
      throw error
    }
    self.file = file
  }

  deinit { if file != nil { abort() } }

  /// Appends one document's ids (each below the vocabulary size), then the end-of-text id unless
  /// `endOfText` is false (ids that already end with it, as Megatron files do); `subset` is its
  /// Pile set name.
  public func appendDocument(_ ids: UnsafeBufferPointer<UInt32>, subset: String, endOfText: Bool = true) throws {
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
    if let tooLarge = ids.first(where: { Int($0) >= vocabulary.vocabularySize }) {
      throw StorageError.invalid(path: path, reason: "token id \(tooLarge) is not below the vocabulary size \(vocabulary.vocabularySize)")
    }
    try tokens.append(ids)
    if endOfText { try tokens.append(vocabulary.endOfText) }
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
        vocabulary: vocabulary, subsets: subsets, source: source, sourceSHA256: sourceSHA256, documents: documentSubsets.count,
        tokens: tokens.total, skippedLines: skippedLines,
        createdAt: ISO8601DateFormatter().string(from: Date()), zooVersion: zooVersion)
      try file.setAttribute("format", TokenStoreMetadata.format)
      try file.setAttribute("tokenizer", vocabulary.tokenizer)
      try file.setAttribute("tokenizer_sha256", vocabulary.tokenizerSHA256)
      try file.setAttribute("vocab_size", vocabulary.vocabularySize)
      try file.setAttribute("eot", Int(vocabulary.endOfText))
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

/// `/tokens` as uint16 or uint32 on disk, appended from 32-bit ids.
private final class TokenAppender {
  private let narrow: HDF5Appender<UInt16>?
  private let wide: HDF5Appender<UInt32>?

  init(file: HDF5File, sixteenBit: Bool) throws {
    if sixteenBit {
      narrow = try HDF5Appender(file: file, name: "tokens", fileType: zh5_t_std_u16le(), memoryType: zh5_t_native_uint16())
      wide = nil
    } else {
      narrow = nil
      wide = try HDF5Appender(file: file, name: "tokens", fileType: zh5_t_std_u32le(), memoryType: zh5_t_native_uint32())
    }
  }

  var total: Int { narrow?.total ?? wide!.total }

  private var scratch: [UInt16] = []

  func append(_ ids: UnsafeBufferPointer<UInt32>) throws {
    if let narrow {
      scratch.removeAll(keepingCapacity: true)
      scratch.append(contentsOf: ids.lazy.map { UInt16(truncatingIfNeeded: $0) })
      try scratch.withUnsafeBufferPointer { try narrow.append($0) }
    } else if let wide {
      try wide.append(ids)
    }
  }

  func append(_ id: UInt32) throws {
    if let narrow { try narrow.append(UInt16(truncatingIfNeeded: id)) } else { try wide?.append(id) }
  }

  func close() throws {
    try narrow?.close()
    try wide?.close()
  }
}
