/// What a sequence of token ids means: the tokenizer that made them, the number of ids and the
/// end-of-text id after every document. A tokenizer has one; a token store records its
/// tokenizer's (docs/FORMATS.md, "Token store"), and every reader takes it from the store, never
/// from constants.
public struct TokenVocabulary: Sendable, Equatable, Codable {
  /// Tokenizer name (`gpt2`, `gpt-neox-20b`, a `tokenizer.json` file name).
  public var tokenizer: String
  /// sha256 of the tokenizer's definition file; empty in stores written before it was recorded.
  public var tokenizerSHA256: String
  /// Number of ids; every id in the store is below it.
  public var vocabularySize: Int
  /// The id that ends every document.
  public var endOfText: UInt32

  /// A vocabulary with every field given.
  public init(tokenizer: String, tokenizerSHA256: String, vocabularySize: Int, endOfText: UInt32) {
    self.tokenizer = tokenizer
    self.tokenizerSHA256 = tokenizerSHA256
    self.vocabularySize = vocabularySize
    self.endOfText = endOfText
  }

  /// Whether ids of the two stores mean the same: same tokenizer, size and end-of-text id (and
  /// the same definition file where both stores record it).
  public func sameTokens(as other: TokenVocabulary) -> Bool {
    tokenizer == other.tokenizer && vocabularySize == other.vocabularySize && endOfText == other.endOfText
      && (tokenizerSHA256.isEmpty || other.tokenizerSHA256.isEmpty || tokenizerSHA256 == other.tokenizerSHA256)
  }

  /// `/tokens` is uint16 while every id fits, uint32 otherwise.
  public var storesSixteenBitIDs: Bool { vocabularySize <= 1 << 16 }

  /// One line for messages: `gpt2 (50257 ids, EOT 50256)`.
  public var summary: String { "\(tokenizer) (\(vocabularySize) ids, EOT \(endOfText))" }
}
