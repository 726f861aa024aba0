import Foundation

/// The parts of a Hugging Face `tokenizer.json` that a byte-level BPE tokenizer uses, read and
/// checked: anything Zoo does not reproduce exactly is an error naming the file and the part.
///
/// Supported: model `BPE` (vocab + merges, merges as `"a b"` strings or `["a", "b"]` pairs; no
/// dropout, continuing-subword prefix, end-of-word suffix or byte fallback), pre-tokenizer
/// `ByteLevel` with its GPT-2 regex (alone, or as the only member of a `Sequence`), normalizer
/// none or `NFC` (alone or in a `Sequence`), and `added_tokens` without `single_word`, `lstrip`
/// or `rstrip`. The post-processor and decoder do not change `encode(text,
/// add_special_tokens=False)` ids and are not read.
struct TokenizerJSON {
  /// Bytes of each model token by id (nil where the id is unused or not byte-level).
  var tokens: [[UInt8]?]
  /// Each merge as (left id, right id, merged id), in priority order.
  var merges: [(left: Int32, right: Int32, merged: Int32)]
  var ignoreMerges: Bool
  var addPrefixSpace: Bool
  var nfc: Bool
  /// Added tokens matched on the raw text (`normalized: false`).
  var rawAddedTokens: [(content: String, id: UInt32)]
  /// Added tokens matched on the normalized text (`normalized: true`).
  var normalizedAddedTokens: [(content: String, id: UInt32)]
  /// The largest id + 1.
  var vocabularySize: Int
  /// The end-of-text id (`<|endoftext|>`, `<|end_of_text|>`, `</s>` or `<eos>`, first found).
  var endOfText: UInt32

  static let endOfTextNames = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"]

  init(path: String) throws {
    func fail(_ reason: String) -> TokenizerError { .unsupported(path: path, reason: reason) }
    guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError.unreadable(path: path) }
    guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
      throw TokenizerError.malformed(path: path, reason: "not a JSON object")
    }

    // Model.
    guard let model = root["model"] as? [String: Any] else { throw TokenizerError.malformed(path: path, reason: "no model") }
    let type = model["type"] as? String ?? "?"
    guard type == "BPE" else { throw fail("model type \(type) (only BPE)") }
    if let dropout = model["dropout"], !(dropout is NSNull) { throw fail("model.dropout (BPE dropout is random)") }
    for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
      if let v = model[key] as? String, !v.isEmpty { throw fail("model.\(key) \"\(v)\"") }
    }
    if model["byte_fallback"] as? Bool == true { throw fail("model.byte_fallback") }
    ignoreMerges = model["ignore_merges"] as? Bool ?? false
    guard let vocab = model["vocab"] as? [String: Int] else { throw TokenizerError.malformed(path: path, reason: "model.vocab") }

    // Normalizer.
    func normalizers(_ n: Any?) throws -> [String] {
      guard let n = n as? [String: Any] else { return [] }
      let t = n["type"] as? String ?? "?"
      if t == "Sequence" { return try (n["normalizers"] as? [Any] ?? []).flatMap { try normalizers($0) } }
      return [t]
    }
    let normalizerTypes = try normalizers(root["normalizer"])
    guard normalizerTypes.allSatisfy({ $0 == "NFC" }) else {
      throw fail("normalizer \(normalizerTypes.joined(separator: ", ")) (only NFC)")
    }
    nfc = !normalizerTypes.isEmpty

    // Pre-tokenizer.
    var pre = root["pre_tokenizer"] as? [String: Any]
    if pre?["type"] as? String == "Sequence" {
      let members = pre?["pretokenizers"] as? [[String: Any]] ?? []
      guard members.count == 1 else {
        throw fail("pre_tokenizer Sequence of \(members.map { $0["type"] as? String ?? "?" }.joined(separator: ", ")) (only ByteLevel)")
      }
      pre = members[0]
    }
    let preType = pre?["type"] as? String ?? "none"
    guard preType == "ByteLevel" else { throw fail("pre_tokenizer \(preType) (only ByteLevel)") }
    guard pre?["use_regex"] as? Bool ?? true else { throw fail("pre_tokenizer ByteLevel without its regex (use_regex false)") }
    addPrefixSpace = pre?["add_prefix_space"] as? Bool ?? true

    // Added tokens.
    var raw: [(String, UInt32)] = []
    var normalized: [(String, UInt32)] = []
    var largest = vocab.values.max() ?? -1
    for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
      guard let content = entry["content"] as? String, let id = entry["id"] as? Int, id >= 0 else {
        throw TokenizerError.malformed(path: path, reason: "added_tokens entry without content and id")
      }
      for flag in ["single_word", "lstrip", "rstrip"] where entry[flag] as? Bool == true {
        throw fail("added token \(content.debugDescription) with \(flag)")
      }
      if entry["normalized"] as? Bool ?? !(entry["special"] as? Bool ?? false) {
        normalized.append((content, UInt32(id)))
      } else {
        raw.append((content, UInt32(id)))
      }
      largest = max(largest, id)
    }
    rawAddedTokens = raw
    normalizedAddedTokens = normalized
    vocabularySize = largest + 1

    // Vocabulary bytes and merges.
    var tokens = [[UInt8]?](repeating: nil, count: vocabularySize)
    for (string, id) in vocab where id >= 0 { tokens[id] = ByteLevelAlphabet.decode(string) }
    // Every byte valid UTF-8 can hold must be a token (0xC0, 0xC1 and 0xF5-0xFF never occur).
    let utf8Bytes = Array(0x00...0xBF) + Array(0xC2...0xF4)
    for b in utf8Bytes where vocab[String(Character(ByteLevelAlphabet.characters[b]))] == nil {
      throw fail("model.vocab lacks byte 0x\(String(b, radix: 16)) (not a byte-level vocabulary)")
    }
    self.tokens = tokens
    guard let mergeList = model["merges"] as? [Any] else { throw TokenizerError.malformed(path: path, reason: "model.merges") }
    var merges: [(left: Int32, right: Int32, merged: Int32)] = []
    merges.reserveCapacity(mergeList.count)
    for (i, m) in mergeList.enumerated() {
      let parts: [String]
      if let s = m as? String {
        parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
      } else {
        parts = m as? [String] ?? []
      }
      guard parts.count == 2, let left = vocab[parts[0]], let right = vocab[parts[1]],
        let merged = vocab[parts[0] + parts[1]]
      else { throw TokenizerError.malformed(path: path, reason: "merge \(i) (\(m)) is not two tokens whose join is a token") }
      merges.append((Int32(left), Int32(right), Int32(merged)))
    }
    self.merges = merges

    let named = TokenizerJSON.endOfTextNames.lazy.compactMap { name in
      (raw + normalized).first(where: { $0.0 == name })?.1 ?? vocab[name].map(UInt32.init)
    }
    guard let eot = named.first else {
      throw fail("no end-of-text token (none of \(TokenizerJSON.endOfTextNames.joined(separator: " ")))")
    }
    endOfText = eot
  }
}
