import ZooSupport

/// A text tokenizer ingest can use: immutable after loading, safe to share across threads.
public protocol Tokenizer: Sendable {
  /// What its ids mean: its name, the sha256 of its definition file, its number of ids (added
  /// tokens included) and its end-of-text id.
  var vocabulary: TokenVocabulary { get }
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
