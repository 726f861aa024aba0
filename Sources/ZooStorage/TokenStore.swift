import CHDF5
import ZooSupport

/// Reads a token store written by ``TokenStoreWriter`` (format `zoo.tokens.v1`).
public final class TokenStore {
  /// The store's path.
  public let path: String
  /// Its root attributes.
  public let metadata: TokenStoreMetadata
  private let file: HDF5File

  /// Opens a store; a missing file, a non-HDF5 file or another format is a clear error.
  public init(path: String) throws {
    self.path = path
    file = try HDF5File.open(path)
    let format = file.hasAttribute("format") ? (try? file.stringAttribute("format")) ?? "" : ""
    guard format == TokenStoreMetadata.format else {
      throw StorageError.wrongFormat(path: path, expected: TokenStoreMetadata.format, found: format)
    }
    // Stores written before tokenizer_sha256 existed hold GPT-2 ids and say so in the other three.
    let vocabulary = TokenVocabulary(
      tokenizer: try file.stringAttribute("tokenizer"),
      tokenizerSHA256: file.hasAttribute("tokenizer_sha256") ? try file.stringAttribute("tokenizer_sha256") : "",
      vocabularySize: try file.intAttribute("vocab_size"), endOfText: UInt32(try file.intAttribute("eot")))
    guard vocabulary.vocabularySize > 0, Int(vocabulary.endOfText) < vocabulary.vocabularySize else {
      throw StorageError.invalid(path: path, reason: "eot \(vocabulary.endOfText) is not below vocab_size \(vocabulary.vocabularySize)")
    }
    metadata = TokenStoreMetadata(
      vocabulary: vocabulary, subsets: try file.stringListAttribute("subsets"), source: try file.stringAttribute("source"),
      sourceSHA256: try file.stringAttribute("source_sha256"), documents: try file.intAttribute("documents"),
      tokens: try file.intAttribute("tokens"), skippedLines: try file.intAttribute("skipped_lines"),
      createdAt: try file.stringAttribute("created_at"), zooVersion: try file.stringAttribute("zoo_version"))
    let stored = try file.datasetLength("tokens")
    guard stored == metadata.tokens else {
      throw StorageError.invalid(path: path, reason: "/tokens has \(stored) entries, the tokens attribute says \(metadata.tokens)")
    }
  }

  /// Tokenizer, vocabulary size and end-of-text id.
  public var vocabulary: TokenVocabulary { metadata.vocabulary }
  /// Number of tokens.
  public var tokenCount: Int { metadata.tokens }
  /// Number of documents.
  public var documentCount: Int { metadata.documents }

  /// Tokens in `range` (`/tokens` may be uint16 or uint32 on disk).
  public func readTokens(_ range: Range<Int>) throws -> [UInt32] {
    var out = [UInt32](repeating: 0, count: range.count)
    try out.withUnsafeMutableBufferPointer { try readTokens(range, into: $0) }
    return out
  }

  /// Tokens in `range`, into `buffer` (at least `range.count` long).
  public func readTokens(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt32>) throws {
    precondition(buffer.count >= range.count, "buffer of \(buffer.count) for \(range.count) tokens")
    guard let base = buffer.baseAddress else { return }
    try file.read("tokens", range: range, into: base, memoryType: zh5_t_native_uint32())
  }

  /// Start of each document in `/tokens`, D+1 entries, the last equal to ``tokenCount``.
  public func documentOffsets() throws -> [UInt64] {
    try file.readAll("doc_offsets", as: UInt64.self, memoryType: zh5_t_native_uint64(), zero: 0)
  }

  /// Subset index of each document (into `metadata.subsets`).
  public func documentSubsets() throws -> [UInt8] {
    try file.readAll("doc_subset", as: UInt8.self, memoryType: zh5_t_native_uint8(), zero: 0)
  }
}
