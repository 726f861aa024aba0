import Foundation
import Testing
import ZooStorage
import ZooSupport

@testable import ZooTokenizer

let neox: BPETokenizer = try! BPETokenizer.bundledGPTNeoX20B()
let neoxFixtures = fixtures.appendingPathComponent("neox")

/// GPT-NeoX-20B's `tokenizer.json` against Hugging Face `tokenizers` (fixtures made by
/// `Fixtures/make_hf_reference.py`), and the parts of the format Zoo refuses.
@Suite struct TokenizerJSONTests {
  @Test func bundledFileIsEleutherAIs() throws {
    #expect(try SHA256.hex(ofFile: BPETokenizer.bundledGPTNeoX20BPath) == BPETokenizer.bundledGPTNeoX20BSHA256)
    #expect(neox.vocabulary == TokenVocabulary(
      tokenizer: "gpt-neox-20b", tokenizerSHA256: BPETokenizer.bundledGPTNeoX20BSHA256, vocabularySize: 50277,
      endOfText: 0))
    #expect(try Tokenizers.load("gpt-neox-20b").vocabulary == neox.vocabulary)
    #expect(try Tokenizers.load("gpt2").vocabulary.endOfText == 50256)
  }

  /// Runs of 1–40 spaces and tabs at line starts and ends, \r\n, text NFC changes (decomposed
  /// accents, Hangul jamo, singletons, mark reordering), compatibility characters NFC keeps,
  /// astral characters, literal special tokens, empty and one-byte texts, seeded random mixtures.
  @Test func edgeCasesMatchTokenizers() throws {
    let cases = try JSONDecoder().decode(
      [EdgeCase].self, from: Data(contentsOf: neoxFixtures.appendingPathComponent("edge-cases.json")))
    #expect(cases.count > 900)
    var failures = 0
    for c in cases where neox.encode(c.text) != c.ids {
      failures += 1
      if failures <= 5 { Issue.record("text \(c.text.debugDescription.prefix(80)): \(neox.encode(c.text)) != \(c.ids)") }
    }
    #expect(failures == 0)
  }

  @Test func oneMegabyteDocumentMatchesTokenizers() throws {
    var blob: [UInt8] = []
    try ZstdFileReader(path: neoxFixtures.appendingPathComponent("big-document.zst").path).forEachBlock { blob += $0 }
    let length = blob.withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self)) }
    let text = Array(blob[4..<(4 + length)])
    let expected = blob[(4 + length)...].withUnsafeBytes { Array($0.bindMemory(to: UInt32.self)) }
    #expect(length >= 999_000)
    var ids: [UInt32] = []
    text.withUnsafeBufferPointer { neox.encode($0, into: &ids) }
    #expect(ids == expected)
  }

  /// `tokenizers` splits added tokens out leftmost-longest: 25 spaces are the 24-space token
  /// then " b"; a literal `<|endoftext|>` is id 0.
  @Test func addedTokensSplitLeftmostLongest() {
    #expect(neox.encode("hello  world") == [25521, 50276, 10186])
    #expect(neox.encode("a" + String(repeating: " ", count: 25) + "b") == [66, 50254, 270])
    #expect(neox.encode("x<|endoftext|>y") == [89, 0, 90])
  }

  /// NFC: the fast path leaves NFC text alone and the slow path composes (é from e + U+0301,
  /// Hangul syllables from jamo, Ω from the ohm sign), with ASCII starters taken along.
  @Test func nfcNormalizesOnlyWhatChanges() {
    func nfc(_ s: String) -> String {
      var out: [UInt8] = []
      Array(s.utf8).withUnsafeBufferPointer { NFC.normalize($0, into: &out) }
      return String(decoding: out, as: UTF8.self)
    }
    for s in ["plain ascii", "“quotes” naïve 東京 😀", "한국어", ""] {
      #expect(Array(s.utf8).withUnsafeBufferPointer { NFC.isInert($0) })
      #expect(nfc(s) == s)
    }
    #expect(Array(nfc("cafe\u{301}!").utf8) == Array("caf\u{E9}!".utf8))
    #expect(Array(nfc("\u{1100}\u{1161}\u{11A8}").utf8) == Array("\u{AC01}".utf8))
    #expect(Array(nfc("x\u{2126}y").utf8) == Array("x\u{3A9}y".utf8))
    #expect(Array(nfc("a\u{307}\u{323}").utf8) == Array("\u{1EA1}\u{307}".utf8))
  }

  @Test func otherKindsOfTokenizerJSONAreOneLineErrors() throws {
    let base = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: BPETokenizer.bundledGPTNeoX20BPath))) as! [String: Any]
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-tokenizer-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    func expectUnsupported(_ edit: (inout [String: Any]) -> Void, _ part: String) throws {
      var json = base
      edit(&json)
      let path = dir + "/tokenizer.json"
      try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
      do {
        _ = try BPETokenizer(file: path)
        Issue.record("accepted \(part)")
      } catch {
        let message = "\(error)"
        #expect(message.hasPrefix(path + ": unsupported tokenizer: ") && message.contains(part), "\(message)")
        #expect(!message.contains("\n"))
      }
    }
    func model(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
      { json in
        var m = json["model"] as! [String: Any]
        m[key] = value
        json["model"] = m
      }
    }
    try expectUnsupported(model("type", "WordPiece"), "WordPiece")
    try expectUnsupported(model("type", "Unigram"), "Unigram")
    try expectUnsupported(model("byte_fallback", true), "byte_fallback")
    try expectUnsupported(model("dropout", 0.1), "dropout")
    try expectUnsupported({ $0["pre_tokenizer"] = ["type": "Metaspace", "replacement": "▁"] }, "Metaspace")
    try expectUnsupported({ $0["normalizer"] = ["type": "NFKC"] }, "NFKC")
    try expectUnsupported(
      { $0["normalizer"] = ["type": "Sequence", "normalizers": [["type": "NFC"], ["type": "Lowercase"]]] }, "Lowercase")
    try expectUnsupported(
      { $0["added_tokens"] = [["id": 0, "content": "<|endoftext|>", "lstrip": true, "special": true]] }, "lstrip")
  }
}
