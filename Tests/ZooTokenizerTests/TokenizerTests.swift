import Foundation
import Testing
import ZooSupport

@testable import ZooTokenizer

/// Fixture directory (read through #filePath; the target excludes it from resources).
let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

let gpt2: GPT2Tokenizer = try! GPT2Tokenizer.bundled()

/// `{text, ids}` pairs made by `Fixtures/make_reference.py` with tiktoken's `gpt2`.
struct EdgeCase: Decodable {
  let text: String
  let ids: [UInt32]
}

@Suite struct TokenizerTests {
  @Test func bundledRanksAreTheShippedFile() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: GPT2Tokenizer.bundledRanksPath))
    #expect(SHA256.hex(of: data) == GPT2Tokenizer.bundledRanksSHA256)
  }

  @Test func helloWorld() {
    #expect(gpt2.encodeOrdinary("hello world") == [31373, 995])
    #expect(gpt2.encodeOrdinary("") == [])
  }

  /// Empty text, whitespace runs, \r\n, combining accents, CJK, emoji and scalars beyond U+FFFF,
  /// digit runs, 's vs 'S, literal <|endoftext|>, unusual spaces, long runs: ids equal tiktoken's.
  @Test func edgeCasesMatchTiktoken() throws {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("edge-cases.json"))
    let cases = try JSONDecoder().decode([EdgeCase].self, from: data)
    #expect(cases.count >= 100)
    for c in cases {
      #expect(gpt2.encodeOrdinary(c.text) == c.ids, "text: \(c.text.debugDescription.prefix(60))")
    }
  }

  @Test func endOfTextLiteralIsOrdinaryText() {
    let ids = gpt2.encodeOrdinary("<|endoftext|>")
    #expect(!ids.contains(GPT2Tokenizer.endOfText))
    #expect(gpt2.decode(ids) == Array("<|endoftext|>".utf8))
  }

  @Test func contractionsAreCaseSensitiveAndASCIIOnly() {
    // 's is one piece and token; 'S splits into ' and S.
    #expect(gpt2.encodeOrdinary("'s").count == 1)
    #expect(gpt2.encodeOrdinary("'S").count == 2)
    let curly = pieces("’s")
    #expect(curly == ["’", "s"])
    #expect(pieces("it's") == ["it", "'s"])
    #expect(pieces("IT'S") == ["IT", "'", "S"])
  }

  @Test func combiningMarksAndGraphemesSplitOnScalars() {
    // e + U+0301 is one grapheme but two scalars of different classes (letter, mark).
    #expect(pieces("e\u{301}") == ["e", "\u{301}"])
    #expect(pieces("\r\n") == ["\r\n"])
    #expect(pieces("a\r\nb") == ["a", "\r", "\n", "b"])
    #expect(pieces("  word") == [" ", " word"])
    #expect(pieces("x  ") == ["x", "  "])
  }

  @Test func decodeInvertsEncode() throws {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("edge-cases.json"))
    for c in try JSONDecoder().decode([EdgeCase].self, from: data) {
      #expect(gpt2.decode(gpt2.encodeOrdinary(c.text)) == Array(c.text.utf8))
    }
    var rng = SplitMix64(seed: 13)
    for _ in 0..<200 {
      let text = randomText(length: Int.random(in: 0..<80, using: &rng), using: &rng)
      #expect(gpt2.decode(gpt2.encodeOrdinary(text)) == Array(text.utf8))
    }
  }

  /// Merging follows ranks, not left-to-right order, and prefers the leftmost pair on ties.
  @Test func tinyRankTableMergesByRank() {
    var tokens = (0..<256).map { [UInt8($0)] }
    let a = UInt8(ascii: "a"), b = UInt8(ascii: "b"), c = UInt8(ascii: "c")
    tokens.append([b, c])  // 256: "bc" ranks before "ab"
    tokens.append([a, b])  // 257
    tokens.append([a, b, c])  // 258: reachable as a + bc
    tokens.append([a, a])  // 259
    let tiny = GPT2Tokenizer(tokens: tokens)
    #expect(tiny.encodeOrdinary("abc") == [258])
    #expect(tiny.encodeOrdinary("abx") == [257, UInt32(UInt8(ascii: "x"))])
    // "aaa": the leftmost "aa" merges first.
    #expect(tiny.encodeOrdinary("aaa") == [259, UInt32(a)])
    // "abab": two "ab" merges; "abab" is not a token.
    #expect(tiny.encodeOrdinary("abab") == [257, 257])
  }

  /// The O(n·m) scan and the heap give the same merges on pieces of every length.
  @Test func scanAndHeapAgree() {
    var rng = SplitMix64(seed: 13)
    let alphabets: [[UInt8]] = [Array("ab".utf8), Array("etaoin shr".utf8), Array("xyzzy0123".utf8), Array("é漢".utf8)]
    for trial in 0..<400 {
      let alphabet = alphabets[trial % alphabets.count]
      let n = Int.random(in: 2..<300, using: &rng)
      let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
      var fromScan: [UInt32] = []
      var fromHeap: [UInt32] = []
      bytes.withUnsafeBufferPointer {
        BytePairMerge.scan($0, ranks: gpt2.ranks, into: &fromScan)
        BytePairMerge.heap($0, ranks: gpt2.ranks, into: &fromHeap)
      }
      #expect(fromScan == fromHeap, "bytes: \(bytes)")
    }
  }

  /// The hand-written scanner splits exactly as the GPT-2 regex does (ICU via NSRegularExpression,
  /// on an alphabet where ICU's \s and Unicode White_Space agree).
  @Test func preTokenizerMatchesTheRegex() throws {
    let regex = try NSRegularExpression(
      pattern: #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#)
    var rng = SplitMix64(seed: 13)
    for _ in 0..<1_000 {
      let text = randomText(length: Int.random(in: 0..<60, using: &rng), using: &rng)
      let ns = text as NSString
      let expected = regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
        ns.substring(with: $0.range)
      }
      #expect(pieces(text) == expected, "text: \(text.debugDescription)")
    }
  }

  @Test func longRunsStayLinear() {
    let xs = String(repeating: "x", count: 1_000_000)
    // tiktoken: 125,000 times "xxxxxxxx" (24223), measured with make_reference.py's encoding.
    #expect(gpt2.encodeOrdinary(xs) == [UInt32](repeating: 24223, count: 125_000))
    let spaces = String(repeating: " ", count: 10_000)
    #expect(gpt2.encodeOrdinary(spaces) == [UInt32](repeating: 220, count: 10_000))
  }

  /// A 50 MB document made of a repeated unit that starts and ends on piece boundaries: its ids
  /// are the unit's ids repeated, so the whole document is checked against tiktoken's unit.
  @Test func fiftyMegabyteDocument() throws {
    let data = try Data(contentsOf: fixtures.appendingPathComponent("edge-cases.json"))
    let cases = try JSONDecoder().decode([EdgeCase].self, from: data)
    let unitText = cases.filter { !$0.text.isEmpty && $0.text.first!.isLetter }.map(\.text).joined(separator: "\n") + "\n"
    let unitIDs = gpt2.encodeOrdinary(unitText)
    let repeats = 50_000_000 / unitText.utf8.count + 1
    var document = [UInt8]()
    document.reserveCapacity(repeats * unitText.utf8.count)
    for _ in 0..<repeats { document += unitText.utf8 }
    var ids: [UInt32] = []
    document.withUnsafeBufferPointer { gpt2.encodeOrdinary($0, into: &ids) }
    #expect(document.count >= 50_000_000)
    #expect(ids.count == unitIDs.count * repeats)
    var mismatch = false
    for r in 0..<repeats where !mismatch {
      if !ids[(r * unitIDs.count)..<((r + 1) * unitIDs.count)].elementsEqual(unitIDs) { mismatch = true }
    }
    #expect(!mismatch)
  }
}

/// The pre-tokenizer's pieces of `text` as strings.
func pieces(_ text: String) -> [String] {
  let bytes = Array(text.utf8)
  return bytes.withUnsafeBufferPointer { buffer in
    PreTokenizer.split(buffer).map { String(decoding: bytes[$0], as: UTF8.self) }
  }
}

/// Random text over letters, digits, punctuation, contractions, spaces, \r\n, accents, CJK, emoji.
func randomText(length: Int, using rng: inout SplitMix64) -> String {
  let atoms = [
    "a", "b", "Z", "é", "ß", "ж", "漢", "字", "한", "٣", "5", "0", "½", "Ⅻ", " ", " ", "  ", "\t", "\n", "\r\n",
    "\u{A0}", "\u{3000}", "'", "'s", "'S", "'ll", "'re", "'t", "!", "?", ".", ",", "-", "_", "(", "😀", "👍🏽", "\u{301}",
    "𝔘", "𐍈", "$", "@", "\u{200B}", "\u{FEFF}", "’",
  ]
  var s = ""
  for _ in 0..<length { s += atoms.randomElement(using: &rng)! }
  return s
}

