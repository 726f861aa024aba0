import Foundation
import ZooSupport

/// GPT-2 byte-level BPE, id-for-id equal to tiktoken's `gpt2` `encode_ordinary`.
///
/// Encoding splits the UTF-8 text into pieces (``PreTokenizer``), emits a piece that is itself
/// a token with one hash probe, and byte-pair merges the others (``BytePairMerge``). The
/// object is immutable after loading and safe to share across threads.
///
/// ```swift
/// let gpt2 = try GPT2Tokenizer.bundled()
/// gpt2.encodeOrdinary("hello world")  // [31373, 995]
/// ```
public final class GPT2Tokenizer: Tokenizer {
  /// `<|endoftext|>`, the document separator (not produced by ``encodeOrdinary(_:)``).
  public static let endOfText: UInt32 = 50256
  /// 50,256 BPE tokens plus `<|endoftext|>`.
  public static let vocabularySize = 50257
  /// sha256 of the bundled `gpt2.tiktoken` (OpenAI's GPT-2 ranks as shipped by openai-whisper).
  public static let bundledRanksSHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"

  let ranks: RankTable
  /// `gpt2`, the ranks file's sha256, 50257 ids, EOT 50256.
  public let vocabulary: TokenVocabulary

  /// Path of the ranks file shipped with the package.
  public static var bundledRanksPath: String {
    Bundle.module.path(forResource: "gpt2", ofType: "tiktoken") ?? ""
  }

  /// The tokenizer with the bundled ranks.
  public static func bundled() throws -> GPT2Tokenizer {
    let path = bundledRanksPath
    guard !path.isEmpty else { throw TokenizerError.missingResource }
    let tokenizer = try GPT2Tokenizer(ranksFile: path)
    guard tokenizer.ranks.count == 50256 else {
      throw TokenizerError.inconsistentRanks(path: path, reason: "expected 50256 ranks, found \(tokenizer.ranks.count)")
    }
    return tokenizer
  }

  /// A tokenizer from a tiktoken ranks file (`base64(bytes) rank` per line).
  public init(ranksFile path: String) throws {
    ranks = try RankTable.load(path: path)
    let sha256 = try SHA256.hex(ofFile: path)
    vocabulary = TokenVocabulary(
      tokenizer: "gpt2", tokenizerSHA256: sha256, vocabularySize: GPT2Tokenizer.vocabularySize,
      endOfText: GPT2Tokenizer.endOfText)
  }

  /// A tokenizer from explicit token byte strings (rank = index), for tests.
  init(tokens: [[UInt8]]) {
    ranks = RankTable(tiktoken: tokens)
    vocabulary = TokenVocabulary(
      tokenizer: "test", tokenizerSHA256: "", vocabularySize: tokens.count + 1, endOfText: UInt32(tokens.count))
  }

  /// Appends the ids of `utf8` (valid UTF-8) to `out`. A literal `<|endoftext|>` in the text
  /// is ordinary text.
  public func encodeOrdinary(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    BytePairMerge.encodePieces(utf8, ranks: ranks, into: &out)
  }

  /// ``encodeOrdinary(_:into:)``: a literal `<|endoftext|>` is ordinary text.
  public func encode(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    encodeOrdinary(utf8, into: &out)
  }

  /// The ids of `text`.
  public func encodeOrdinary(_ text: String) -> [UInt32] {
    var out: [UInt32] = []
    var text = text
    text.withUTF8 { encodeOrdinary($0, into: &out) }
    return out
  }

  /// The bytes of `ids` (`<|endoftext|>` decodes to its literal text).
  public func decode(_ ids: [UInt32]) -> [UInt8] {
    var out: [UInt8] = []
    for id in ids {
      if id == GPT2Tokenizer.endOfText {
        out += Array("<|endoftext|>".utf8)
      } else {
        let r = Int(id)
        precondition(r < ranks.count, "token id \(id) out of range")
        out += ranks.arena[Int(ranks.offsets[r])..<Int(ranks.offsets[r + 1])]
      }
    }
    return out
  }
}
