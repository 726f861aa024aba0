import Foundation
import ZooSupport

/// A Hugging Face byte-level BPE tokenizer (`tokenizer.json`, see ``TokenizerJSON`` for what is
/// supported), id-for-id equal to `Tokenizer.from_file(path).encode(text,
/// add_special_tokens=False).ids` of `tokenizers`.
///
/// Encoding follows `tokenizers`' order: added tokens that are not normalized (the special
/// ones, `<|endoftext|>`) are split out of the raw text; each stretch between them is NFC
/// normalized, then the normalized added tokens (GPT-NeoX-20B's runs of 2–24 spaces) are split
/// out; each remaining stretch is cut by GPT-2's pre-tokenizer (``PreTokenizer``) and its pieces
/// byte-pair merged by the model's merge list. Unlike tiktoken's `encode_ordinary`, a literal
/// special token in the text becomes its id, as it does in `tokenizers`.
public final class BPETokenizer: Tokenizer {
  /// Name, file sha256, vocabulary size (added tokens included) and end-of-text id.
  public let vocabulary: TokenVocabulary
  let ranks: RankTable
  private let rawAdded: AddedTokens
  private let normalizedAdded: AddedTokens
  private let nfc: Bool
  private let addPrefixSpace: Bool

  /// sha256 of the bundled GPT-NeoX-20B `tokenizer.json` (EleutherAI/pythia `utils/20B_tokenizer.json`).
  public static let bundledGPTNeoX20BSHA256 = "56ac4821e129d2c520fdaba60abd920fa852ada51b45c0dd52bbb6bd8c985ade"

  /// Path of the GPT-NeoX-20B `tokenizer.json` shipped with the package.
  public static var bundledGPTNeoX20BPath: String {
    Bundle.module.path(forResource: "gpt-neox-20b.tokenizer", ofType: "json") ?? ""
  }

  /// GPT-NeoX-20B's tokenizer (Pythia, Mamba, RWKV-4-Pile): 50,277 ids, `<|endoftext|>` = 0.
  public static func bundledGPTNeoX20B() throws -> BPETokenizer {
    let path = bundledGPTNeoX20BPath
    guard !path.isEmpty else { throw TokenizerError.missingResource }
    return try BPETokenizer(file: path, name: "gpt-neox-20b")
  }

  /// Loads a `tokenizer.json`; `name` defaults to the file name.
  public init(file path: String, name: String? = nil) throws {
    let definition = try TokenizerJSON(path: path)
    ranks = RankTable(tokens: definition.tokens, merges: definition.merges, ignoreMerges: definition.ignoreMerges)
    rawAdded = AddedTokens(definition.rawAddedTokens)
    normalizedAdded = AddedTokens(definition.normalizedAddedTokens)
    nfc = definition.nfc
    addPrefixSpace = definition.addPrefixSpace
    vocabulary = TokenVocabulary(
      tokenizer: name ?? URL(fileURLWithPath: path).lastPathComponent, tokenizerSHA256: try SHA256.hex(ofFile: path),
      vocabularySize: definition.vocabularySize, endOfText: definition.endOfText)
  }

  public func encode(_ utf8: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    var normalized: [UInt8] = []
    rawAdded.split(utf8) { stretch in
      if nfc && !NFC.isInert(stretch) {
        normalized.removeAll(keepingCapacity: true)
        NFC.normalize(stretch, into: &normalized)
        normalized.withUnsafeBufferPointer { splitNormalized($0, into: &out) }
      } else {
        splitNormalized(stretch, into: &out)
      }
    } token: { out.append($0) }
  }

  private func splitNormalized(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    normalizedAdded.split(text) { stretch in
      if addPrefixSpace && stretch[0] != 0x20 {
        let spaced = [0x20] + Array(stretch)
        spaced.withUnsafeBufferPointer { encodePieces($0, into: &out) }
      } else {
        encodePieces(stretch, into: &out)
      }
    } token: { out.append($0) }
  }

  private func encodePieces(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt32]) {
    BytePairMerge.encodePieces(text, ranks: ranks, into: &out)
  }
}
