import Foundation
import Testing

@testable import ZooIngest

/// Parses `line` and returns the outcome and the text as a String.
private func parse(_ line: String) -> (ParsedLine, String) {
  parseBytes(Array(line.utf8))
}

private func parseBytes(_ bytes: [UInt8]) -> (ParsedLine, String) {
  var text: [UInt8] = []
  let result = bytes.withUnsafeBytes { PileLineParser().parse($0, text: &text) }
  return (result, String(decoding: text, as: UTF8.self))
}

@Suite struct PileLineParserTests {
  @Test func plainDocument() {
    let (result, text) = parse(#"{"text": "Hello, world", "meta": {"pile_set_name": "Github"}}"#)
    #expect(result == .document(subset: "Github"))
    #expect(text == "Hello, world")
  }

  @Test func metaBeforeTextAndExtraMembers() {
    let line = #"{"meta": {"a": [1, 2.5e-3, {"x": null}], "pile_set_name": "Pile-CC"}, "id": -0, "ok": true, "text": "x"}"#
    let (result, text) = parse(line)
    #expect(result == .document(subset: "Pile-CC"))
    #expect(text == "x")
  }

  @Test func everyEscape() {
    let line = #"{"text": "q\" b\\ s\/ \b\f\n\r\t A\u00e9\u4e2d \ud83d\ude00 end"}"#
    let (result, text) = parse(line)
    #expect(result == .document(subset: PileLineParser.unknownSubset))
    #expect(text == "q\" b\\ s/ \u{8}\u{C}\n\r\t Aé中 😀 end")
  }

  @Test func loneSurrogatesBecomeReplacementCharacter() {
    #expect(parse(#"{"text": "a\ud83db"}"#).1 == "a\u{FFFD}b")
    #expect(parse(#"{"text": "a\ude00b"}"#).1 == "a\u{FFFD}b")
    #expect(parse(#"{"text": "a\ud83d\u0041"}"#).1 == "a\u{FFFD}A")
    #expect(parse(#"{"text": "\ud83d"}"#).1 == "\u{FFFD}")
  }

  @Test func rawUTF8AndEnsureASCIIAgree() throws {
    let original = "naïve café — 東京 🚀 e\u{301} \u{10FFFF}\u{0}\u{1F}"
    let raw = try JSONSerialization.data(withJSONObject: ["text": original])
    var ascii = #"{"text": ""#
    for unit in original.utf16 {
      if unit >= 0x20 && unit < 0x7F && unit != 0x22 && unit != 0x5C {
        ascii += String(UnicodeScalar(UInt8(unit)))
      } else {
        ascii += String(format: "\\u%04x", unit)
      }
    }
    ascii += "\"}"
    #expect(parseBytes(Array(raw)).1 == original)
    #expect(parse(ascii).1 == original)
  }

  @Test func repeatedKeyKeepsLastValue() {
    #expect(parse(#"{"text": "first", "text": "second"}"#).1 == "second")
    #expect(parse(#"{"text": "first", "text": 3}"#).0 == .skipped(.missingText))
  }

  @Test func trailingCarriageReturnAndWhitespace() {
    #expect(parse("{\"text\": \"a\"} \r").0 == .document(subset: "unknown"))
  }

  @Test(arguments: [
    "{\"text\": \"a\"",  // truncated
    "{\"text\": \"a\"} x",  // trailing garbage
    "{\"text\" \"a\"}",  // no colon
    "{\"text\": \"a\tb\"}",  // raw control character
    "{\"text\": \"\\x\"}",  // bad escape
    "{\"text\": \"\\u12g4\"}",  // bad hex
    "{\"text\": \"a\", \"n\": 01}",  // leading zero
    "{\"text\": \"a\", \"n\": 1.}",  // bad fraction
    "{\"text\": \"a\",}",  // trailing comma
    "[\"text\", \"a\"]",  // not an object
    "{\"text\": \"a\", \"b\": tru}",  // bad literal
    "{\"text\": \"a\", \"b\": [1 2]}",  // bad array
    "\"text\"",
  ])
  func malformedLines(line: String) {
    #expect(parse(line).0 == .skipped(.malformedJSON), "\(line)")
  }

  @Test func missingTextEmptyTextAndBlankLines() {
    #expect(parse(#"{"meta": {"pile_set_name": "Github"}}"#).0 == .skipped(.missingText))
    #expect(parse(#"{}"#).0 == .skipped(.missingText))
    #expect(parse(#"{"text": null}"#).0 == .skipped(.missingText))
    #expect(parse(#"{"text": ""}"#).0 == .skipped(.emptyText))
    #expect(parse("").0 == .skipped(.blankLine))
    #expect(parse("  \r").0 == .skipped(.blankLine))
  }

  @Test func invalidUTF8IsSkipped() {
    let prefix = Array(#"{"text": "ab"#.utf8)
    let suffix = Array(#""}"#.utf8)
    for bad: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82], [0x80]] {
      #expect(parseBytes(prefix + bad + suffix).0 == .skipped(.invalidUTF8), "\(bad)")
    }
  }

  @Test func deeplyNestedValuesDoNotOverflow() {
    let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
    #expect(parse(#"{"text": "a", "x": "# + deep + "}").0 == .skipped(.malformedJSON))
  }

  /// Random documents encoded by Foundation (raw UTF-8 with escapes where JSON requires them)
  /// decode to the original text.
  @Test func randomDocumentsRoundTrip() throws {
    let alphabet: [UInt32] = [0x41, 0x20, 0x22, 0x5C, 0x2F, 0x0A, 0x0D, 0x09, 0x01, 0x1F, 0x7F, 0xE9, 0x301, 0x4E2D, 0xFFFD, 0x1F600, 0x10FFFF]
    var state: UInt64 = 12345
    for seed in 0..<200 {
      var scalars = String.UnicodeScalarView()
      let length = Int(state % 64)
      for _ in 0..<length {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        scalars.append(Unicode.Scalar(alphabet[Int(state >> 33) % alphabet.count])!)
      }
      let original = String(scalars)
      let data = try JSONSerialization.data(withJSONObject: ["text": original, "meta": ["pile_set_name": "S\(seed)"]])
      let (result, text) = parseBytes(Array(data))
      if original.isEmpty {
        #expect(result == .skipped(.emptyText), "seed \(seed)")
      } else {
        #expect(result == .document(subset: "S\(seed)"), "seed \(seed)")
        #expect(text == original, "seed \(seed)")
      }
    }
  }
}

@Suite struct UTF8ValidationTests {
  @Test func agreesWithStandardLibraryDecoding() {
    var state: UInt64 = 99
    for seed in 0..<2000 {
      var bytes: [UInt8] = []
      for _ in 0..<Int(state % 24) {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        // Bias towards interesting lead bytes.
        let r = UInt8(truncatingIfNeeded: state >> 40)
        bytes.append(seed % 3 == 0 ? r : (r & 0x3F) | [0x00, 0x80, 0xC0, 0xE0, 0xF0][Int(state >> 20) % 5])
      }
      let expected = String(validating: bytes, as: UTF8.self) != nil
      #expect(bytes.withUnsafeBytes { UTF8Validation.isValid($0) } == expected, "seed \(seed) bytes \(bytes)")
    }
  }
}
