/// Why an input line produced no document. Counted per shard and recorded in the registry.
public enum LineSkipReason: String, CaseIterable, Sendable, Comparable {
  /// An empty or whitespace-only line.
  case blankLine = "blank_line"
  /// Not a single well-formed JSON object.
  case malformedJSON = "malformed_json"
  /// A JSON object without a string `text` member.
  case missingText = "missing_text"
  /// The line is not well-formed UTF-8.
  case invalidUTF8 = "invalid_utf8"
  /// `text` is the empty string (GPT-NeoX drops such documents too).
  case emptyText = "empty_text"

  /// Orders reasons by name, for stable reports.
  public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// The outcome of parsing one Pile line.
public enum ParsedLine: Equatable, Sendable {
  /// A document; its text was written to the caller's buffer.
  case document(subset: String)
  /// No document, for this reason.
  case skipped(LineSkipReason)
}

/// Extracts `text` and `meta.pile_set_name` from one Pile JSON line.
///
/// A hand-written scanner (docs/FORMATS.md, "Implementation notes": ~5× `JSONDecoder`): it validates the whole line as
/// UTF-8 and as one JSON object, decodes only the two strings it needs, and skips every other
/// value. Escapes: `\" \\ \/ \b \f \n \r \t \uXXXX`, surrogate pairs joined, a lone surrogate
/// decoded as U+FFFD (what tiktoken does with such a Python string). Raw UTF-8 and
/// `ensure_ascii` lines give the same text. A repeated key keeps its last value, as Python's
/// `json` does. A missing `meta.pile_set_name` gives the subset ``unknownSubset``.
public struct PileLineParser: Sendable {
  /// The subset name used when a line has no `meta.pile_set_name`.
  public static let unknownSubset = "unknown"

  /// A parser; it holds no state between lines.
  public init() {}

  /// Parses `line` (without its `\n`; a trailing `\r` is allowed). On `.document`, `text` holds
  /// the document's UTF-8 bytes (replaced, not appended).
  public func parse(_ line: UnsafeRawBufferPointer, text: inout [UInt8]) -> ParsedLine {
    guard let base = line.baseAddress?.assumingMemoryBound(to: UInt8.self), line.count > 0 else {
      return .skipped(.blankLine)
    }
    var scanner = Scanner(base: base, end: line.count)
    scanner.skipWhitespace()
    if scanner.atEnd { return .skipped(.blankLine) }
    guard UTF8Validation.isValid(line) else { return .skipped(.invalidUTF8) }
    text.removeAll(keepingCapacity: true)
    var subsetBytes: [UInt8] = []
    do {
      let found = try scanner.document(text: &text, subset: &subsetBytes)
      scanner.skipWhitespace()
      guard scanner.atEnd else { throw Malformed() }
      guard found.text else { return .skipped(.missingText) }
      if text.isEmpty { return .skipped(.emptyText) }
      let subset = found.subset ? String(decoding: subsetBytes, as: UTF8.self) : PileLineParser.unknownSubset
      return .document(subset: subset)
    } catch {
      return .skipped(.malformedJSON)
    }
  }
}

private struct Malformed: Error {}

/// A cursor over one line's bytes.
private struct Scanner {
  let base: UnsafePointer<UInt8>
  let end: Int
  var i = 0
  var depth = 0

  init(base: UnsafePointer<UInt8>, end: Int) {
    self.base = base
    self.end = end
  }

  var atEnd: Bool { i >= end }

  mutating func skipWhitespace() {
    while i < end {
      let c = base[i]
      guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
      i += 1
    }
  }

  mutating func expect(_ byte: UInt8) throws {
    guard i < end, base[i] == byte else { throw Malformed() }
    i += 1
  }

  /// The top-level object: decodes `text` and `meta.pile_set_name`, skips the rest.
  mutating func document(text: inout [UInt8], subset: inout [UInt8]) throws -> (text: Bool, subset: Bool) {
    var foundText = false
    var foundSubset = false
    var key: [UInt8] = []
    try members { scanner in
      try scanner.memberKey(into: &key)
      if key == Keys.text {
        foundText = try scanner.stringValue(into: &text)
      } else if key == Keys.meta, scanner.peek == UInt8(ascii: "{") {
        foundSubset = try scanner.meta(subset: &subset) || foundSubset
      } else {
        try scanner.skipValue()
      }
    }
    return (foundText, foundSubset)
  }

  /// The `meta` object: decodes `pile_set_name` when it is a string.
  mutating func meta(subset: inout [UInt8]) throws -> Bool {
    var found = false
    var key: [UInt8] = []
    try members { scanner in
      try scanner.memberKey(into: &key)
      if key == Keys.pileSetName { found = try scanner.stringValue(into: &subset) } else { try scanner.skipValue() }
    }
    return found
  }

  /// A member's `"key":` (and the white space around the colon), the key decoded into `key`.
  mutating func memberKey(into key: inout [UInt8]) throws {
    key.removeAll(keepingCapacity: true)
    try string(into: &key)
    skipWhitespace()
    try expect(UInt8(ascii: ":"))
    skipWhitespace()
  }

  /// A value decoded into `out` when it is a string (true); skipped otherwise (false).
  mutating func stringValue(into out: inout [UInt8]) throws -> Bool {
    guard peek == UInt8(ascii: "\"") else {
      try skipValue()
      return false
    }
    out.removeAll(keepingCapacity: true)
    try string(into: &out)
    return true
  }

  var peek: UInt8? { i < end ? base[i] : nil }

  /// `{ member (, member)* }` or `{}`; `member` parses `"key": value` starting at the key.
  mutating func members(_ member: (inout Scanner) throws -> Void) throws {
    depth += 1
    guard depth <= 512 else { throw Malformed() }
    try expect(UInt8(ascii: "{"))
    skipWhitespace()
    if peek == UInt8(ascii: "}") {
      i += 1
      depth -= 1
      return
    }
    while true {
      skipWhitespace()
      guard peek == UInt8(ascii: "\"") else { throw Malformed() }
      try member(&self)
      skipWhitespace()
      guard let c = peek else { throw Malformed() }
      i += 1
      if c == UInt8(ascii: ",") { continue }
      if c == UInt8(ascii: "}") { break }
      throw Malformed()
    }
    depth -= 1
  }

  mutating func skipValue() throws {
    guard let c = peek else { throw Malformed() }
    switch c {
    case UInt8(ascii: "\""):
      try skipString()
    case UInt8(ascii: "{"):
      try members { scanner in
        try scanner.skipString()
        scanner.skipWhitespace()
        try scanner.expect(UInt8(ascii: ":"))
        scanner.skipWhitespace()
        try scanner.skipValue()
      }
    case UInt8(ascii: "["):
      try skipArray()
    case UInt8(ascii: "t"): try literal("true")
    case UInt8(ascii: "f"): try literal("false")
    case UInt8(ascii: "n"): try literal("null")
    default: try number()
    }
  }

  mutating func skipArray() throws {
    depth += 1
    guard depth <= 512 else { throw Malformed() }
    try expect(UInt8(ascii: "["))
    skipWhitespace()
    if peek == UInt8(ascii: "]") {
      i += 1
      depth -= 1
      return
    }
    while true {
      skipWhitespace()
      try skipValue()
      skipWhitespace()
      guard let c = peek else { throw Malformed() }
      i += 1
      if c == UInt8(ascii: ",") { continue }
      if c == UInt8(ascii: "]") { break }
      throw Malformed()
    }
    depth -= 1
  }

  mutating func literal(_ word: StaticString) throws {
    let n = word.utf8CodeUnitCount
    guard i + n <= end else { throw Malformed() }
    for k in 0..<n where base[i + k] != word.utf8Start[k] { throw Malformed() }
    i += n
  }

  /// JSON number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
  mutating func number() throws {
    if peek == UInt8(ascii: "-") { i += 1 }
    guard let first = peek, isDigit(first) else { throw Malformed() }
    i += 1
    if first != UInt8(ascii: "0") { while let c = peek, isDigit(c) { i += 1 } }
    if peek == UInt8(ascii: ".") {
      i += 1
      guard let c = peek, isDigit(c) else { throw Malformed() }
      while let c = peek, isDigit(c) { i += 1 }
    }
    if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
      i += 1
      if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
      guard let c = peek, isDigit(c) else { throw Malformed() }
      while let c = peek, isDigit(c) { i += 1 }
    }
  }

  func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

  mutating func skipString() throws {
    var sink: [UInt8] = []
    try string(into: &sink)
  }

  /// Decodes a JSON string starting at its opening quote, appending UTF-8 to `out`.
  mutating func string(into out: inout [UInt8]) throws {
    try expect(UInt8(ascii: "\""))
    while true {
      let runStart = i
      i = scanToSpecial(from: i)
      if i > runStart { out.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: i - runStart)) }
      guard i < end else { throw Malformed() }
      let c = base[i]
      i += 1
      if c == UInt8(ascii: "\"") { return }
      if c < 0x20 { throw Malformed() }  // raw control characters are not allowed in JSON strings
      try escape(into: &out)
    }
  }

  /// The index of the next `"`, `\` or control byte at or after `start` (or `end`), 8 bytes at a time.
  func scanToSpecial(from start: Int) -> Int {
    var j = start
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    while j + 8 <= end {
      let w = UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self)
      let quote = w ^ (ones &* 0x22)
      let backslash = w ^ (ones &* 0x5C)
      let hasQuote = (quote &- ones) & ~quote & highs
      let hasBackslash = (backslash &- ones) & ~backslash & highs
      let hasControl = (w &- ones &* 0x20) & ~w & highs
      if hasQuote | hasBackslash | hasControl != 0 { break }
      j += 8
    }
    while j < end {
      let c = base[j]
      if c == 0x22 || c == 0x5C || c < 0x20 { return j }
      j += 1
    }
    return j
  }

  /// Decodes the escape after a backslash.
  mutating func escape(into out: inout [UInt8]) throws {
    guard i < end else { throw Malformed() }
    let c = base[i]
    i += 1
    switch c {
    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(c)
    case UInt8(ascii: "b"): out.append(0x08)
    case UInt8(ascii: "f"): out.append(0x0C)
    case UInt8(ascii: "n"): out.append(0x0A)
    case UInt8(ascii: "r"): out.append(0x0D)
    case UInt8(ascii: "t"): out.append(0x09)
    case UInt8(ascii: "u"):
      var scalar = try hex4()
      if (0xD800...0xDBFF).contains(scalar) {
        // A high surrogate joins a following \uDC00–\uDFFF; otherwise it is lone.
        if i + 6 <= end, base[i] == UInt8(ascii: "\\"), base[i + 1] == UInt8(ascii: "u") {
          let save = i
          i += 2
          let low = try hex4()
          if (0xDC00...0xDFFF).contains(low) {
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else {
            i = save
            scalar = 0xFFFD
          }
        } else {
          scalar = 0xFFFD
        }
      } else if (0xDC00...0xDFFF).contains(scalar) {
        scalar = 0xFFFD
      }
      appendUTF8(scalar, to: &out)
    default:
      throw Malformed()
    }
  }

  mutating func hex4() throws -> UInt32 {
    guard i + 4 <= end else { throw Malformed() }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = base[i]
      let d: UInt32
      switch c {
      case 0x30...0x39: d = UInt32(c - 0x30)
      case 0x41...0x46: d = UInt32(c - 0x41 + 10)
      case 0x61...0x66: d = UInt32(c - 0x61 + 10)
      default: throw Malformed()
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }

  func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
    switch v {
    case ..<0x80:
      out.append(UInt8(v))
    case ..<0x800:
      out.append(UInt8(0xC0 | v >> 6))
      out.append(UInt8(0x80 | v & 0x3F))
    case ..<0x10000:
      out.append(UInt8(0xE0 | v >> 12))
      out.append(UInt8(0x80 | (v >> 6) & 0x3F))
      out.append(UInt8(0x80 | v & 0x3F))
    default:
      out.append(UInt8(0xF0 | v >> 18))
      out.append(UInt8(0x80 | (v >> 12) & 0x3F))
      out.append(UInt8(0x80 | (v >> 6) & 0x3F))
      out.append(UInt8(0x80 | v & 0x3F))
    }
  }
}

private enum Keys {
  static let text = Array("text".utf8)
  static let meta = Array("meta".utf8)
  static let pileSetName = Array("pile_set_name".utf8)
}
