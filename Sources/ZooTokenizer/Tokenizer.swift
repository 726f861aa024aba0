/// What a token id sequence means: which tokenizer made it, with how many ids, and which id ends
/// a document. Token stores carry these four fields (FORMATS.md, "Token store").
public struct TokenizerIdentity: Sendable, Equatable, Codable {
  /// Short name: `gpt2`, `gpt-neox-20b`, or the file name of a `tokenizer.json`.
  public var name: String
  /// sha256 of the file that defines the tokenizer (ranks file or `tokenizer.json`).
  public var sha256: String
  /// Number of ids (the largest id + 1, added tokens included).
  public var vocabularySize: Int
  /// The end-of-text id written after every document.
  public var endOfText: UInt32

  /// An identity with every field given.
  public init(name: String, sha256: String, vocabularySize: Int, endOfText: UInt32) {
    self.name = name
    self.sha256 = sha256
    self.vocabularySize = vocabularySize
    self.endOfText = endOfText
  }
}

/// A text tokenizer ingest can use: immutable after loading, safe to share across threads.
public protocol Tokenizer: Sendable {
  /// What its ids mean.
  var identity: TokenizerIdentity { get }
  /// Appends the ids of `utf8` (valid UTF-8) to `out`, without an end-of-text id.
  func encode(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt32])
}

extension Tokenizer {
  /// The ids of `text`.
  public func encode(_ text: String) -> [UInt32] {
    var out: [UInt32] = []
    var text = text
    text.withUTF8 { encode($0, into: &out) }
    return out
  }
}
