import ZooSupport

/// The root attributes of a token store (docs/FORMATS.md, "Token store").
public struct TokenStoreMetadata: Sendable, Equatable {
  /// Tokenizer, vocabulary size and end-of-text id of the ids.
  public var vocabulary: TokenVocabulary
  /// Pile subset names; `/doc_subset` indexes this list.
  public var subsets: [String]
  /// The shard file name the store was made from.
  public var source: String
  /// sha256 of that shard.
  public var sourceSHA256: String
  /// Number of documents.
  public var documents: Int
  /// Number of tokens, one EOT per document included.
  public var tokens: Int
  /// Input lines skipped (bad JSON, no text, invalid UTF-8, empty text, blank).
  public var skippedLines: Int
  /// Creation time, ISO 8601 UTC.
  public var createdAt: String
  /// Version of the tool that wrote it.
  public var zooVersion: String

  /// Metadata with every field given.
  public init(
    vocabulary: TokenVocabulary, subsets: [String], source: String, sourceSHA256: String, documents: Int, tokens: Int, skippedLines: Int,
    createdAt: String, zooVersion: String
  ) {
    self.vocabulary = vocabulary
    self.subsets = subsets
    self.source = source
    self.sourceSHA256 = sourceSHA256
    self.documents = documents
    self.tokens = tokens
    self.skippedLines = skippedLines
    self.createdAt = createdAt
    self.zooVersion = zooVersion
  }

  /// The `format` attribute of every token store.
  public static let format = "zoo.tokens.v1"
}
