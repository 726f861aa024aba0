/// GPT-2's pre-tokenizer split, as a hand-written scanner over UTF-8 (docs/FORMATS.md, "Implementation notes").
///
/// It reproduces the regex of GPT-2's `encoder.py` (and tiktoken's `gpt2`):
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`, matched on
/// Unicode scalars (not graphemes: `e` + U+0301 are two pieces, `\r\n` two scalars), with
/// `\s` = White_Space, `\p{L}` = Lu|Ll|Lt|Lm|Lo and `\p{N}` = Nd|Nl|No. At each position:
///
/// 1. an ASCII `'` followed by `s t m d` or `re ve ll` (case-sensitive) is a contraction;
/// 2. a letter, number or "other" scalar starts a run of its class, optionally led by one
///    U+0020 space;
/// 3. a whitespace run ending the text is one piece; followed by a non-space, it gives back
///    its last scalar (so `"  word"` → `" "`, `" word"`), unless it is a single scalar.
///
/// About 100× faster than Swift `Regex` and 20× faster than fancy-regex with the same
/// pattern (docs/FORMATS.md, "Implementation notes"); `zoo-bench tokenize` reports its MB/s.
public enum PreTokenizer {
  /// Scalar classes of the pattern.
  enum Class: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    case space = 3
  }

  /// Class of every BMP scalar (surrogates: other).
  static let bmpClasses: [UInt8] = (0..<0x10000).map { v in
    guard let scalar = Unicode.Scalar(UInt32(v)) else { return Class.other.rawValue }
    return classify(scalar).rawValue
  }

  static func classify(_ scalar: Unicode.Scalar) -> Class {
    let properties = scalar.properties
    if properties.isWhitespace { return .space }
    switch properties.generalCategory {
    case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
    case .decimalNumber, .letterNumber, .otherNumber: return .number
    default: return .other
    }
  }

  /// Byte ranges of the pieces of `text` (valid UTF-8), in order, covering it.
  public static func split(_ text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
    var pieces: [Range<Int>] = []
    forEachPiece(text) { pieces.append($0) }
    return pieces
  }

  /// Calls `body` with the byte range of each piece of `text` (valid UTF-8), in order.
  @inline(__always)
  static func forEachPiece(_ text: UnsafeBufferPointer<UInt8>, _ body: (Range<Int>) -> Void) {
    guard let s = text.baseAddress else { return }
    let n = text.count
    bmpClasses.withUnsafeBufferPointer { table in
      /// Class and byte length of the scalar starting at `i`.
      @inline(__always) func scalar(at i: Int) -> (Class, Int) {
        let b0 = UInt32(s[i])
        if b0 < 0x80 { return (Class(rawValue: table[Int(b0)])!, 1) }
        if b0 < 0xE0, i + 1 < n {
          let v = (b0 & 0x1F) << 6 | UInt32(s[i + 1] & 0x3F)
          return (Class(rawValue: table[Int(v)])!, 2)
        }
        if b0 < 0xF0, i + 2 < n {
          let v = (b0 & 0x0F) << 12 | UInt32(s[i + 1] & 0x3F) << 6 | UInt32(s[i + 2] & 0x3F)
          return (Class(rawValue: table[Int(v)])!, 3)
        }
        if b0 >= 0xF0, b0 < 0xF8, i + 3 < n {
          let v = (b0 & 0x07) << 18 | UInt32(s[i + 1] & 0x3F) << 12 | UInt32(s[i + 2] & 0x3F) << 6 | UInt32(s[i + 3] & 0x3F)
          return (Unicode.Scalar(v).map(classify) ?? .other, 4)
        }
        return (.other, 1)  // not UTF-8: a lone byte
      }

      @inline(__always) func run(of cls: Class, from start: Int) -> Int {
        var j = start
        while j < n {
          let (c, len) = scalar(at: j)
          if c != cls { break }
          j += len
        }
        return j
      }

      var i = 0
      while i < n {
        let b = s[i]
        if b == 0x27, i + 1 < n {  // '
          let c = s[i + 1]
          if c == 0x73 || c == 0x74 || c == 0x6D || c == 0x64 {  // s t m d
            body(i..<i + 2)
            i += 2
            continue
          }
          if i + 2 < n {
            let d = s[i + 2]
            if (c == 0x72 && d == 0x65) || (c == 0x76 && d == 0x65) || (c == 0x6C && d == 0x6C) {  // re ve ll
              body(i..<i + 3)
              i += 3
              continue
            }
          }
        }
        let (cls, len) = scalar(at: i)
        if b == 0x20, i + 1 < n {
          let (next, nextLen) = scalar(at: i + 1)
          if next != .space {
            let end = run(of: next, from: i + 1 + nextLen)
            body(i..<end)
            i = end
            continue
          }
        }
        if cls != .space {
          let end = run(of: cls, from: i + len)
          body(i..<end)
          i = end
          continue
        }
        // Whitespace: \s+(?!\S) gives back the run's last scalar before a non-space; \s+ otherwise.
        var end = i + len
        var last = i
        while end < n {
          let (c, l) = scalar(at: end)
          if c != .space { break }
          last = end
          end += l
        }
        if end < n, last > i { end = last }
        body(i..<end)
        i = end
      }
    }
  }
}
