/// Unicode NFC normalization of UTF-8 text, as `tokenizers`' `NFC` normalizer applies it, with a
/// fast path for text that is already NFC.
///
/// Normalization only ever changes text around scalars that are not *inert*: a scalar is inert
/// when its canonical combining class is 0, it is not a composition exclusion (NFC keeps it), it
/// is no combining mark (Mn, Mc, Me: the marks that compose with what precedes them) and no
/// conjoining Hangul jamo (which compose into syllables). Inert scalars satisfy NFC's quick check (UAX #15)
/// and nothing combines across the boundary before an ASCII scalar, so the text splits into
/// ASCII scalars, copied as they are, and runs of non-ASCII scalars, each taken with the ASCII
/// scalar before it (a possible starter). A run whose scalars are all inert is copied too (curly
/// quotes, precomposed accents, CJK); only the others go through the standard library's NFC.
///
/// - Complexity: O(n); ASCII costs one compare a byte, inert non-ASCII one table look-up a
///   scalar (BMP; astral scalars ask their properties).
enum NFC {
  /// One bit a BMP scalar: set when the scalar is inert.
  static let inertBMP: [UInt64] = {
    var bits = [UInt64](repeating: 0, count: 0x10000 / 64)
    for v in 0..<0x10000 {
      if let s = Unicode.Scalar(UInt32(v)), isInert(s) { bits[v >> 6] |= 1 << UInt64(v & 63) }
    }
    return bits
  }()

  static func isInert(_ s: Unicode.Scalar) -> Bool {
    let p = s.properties
    if p.canonicalCombiningClass.rawValue != 0 || p.isFullCompositionExclusion { return false }
    switch p.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return false
    default: break
    }
    switch s.value {
    case 0x1100...0x11FF, 0xA960...0xA97F, 0xD7B0...0xD7FF: return false  // conjoining Hangul jamo
    default: return true
    }
  }

  /// Whether `text` (valid UTF-8) is certainly NFC: every scalar inert.
  static func isInert(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = text.count
    while i < n {
      let b0 = UInt32(text[i])
      if b0 < 0x80 {
        i += 1
        continue
      }
      let v: UInt32
      let length: Int
      if b0 < 0xE0 {
        v = (b0 & 0x1F) << 6 | UInt32(text[i + 1] & 0x3F)
        length = 2
      } else if b0 < 0xF0 {
        v = (b0 & 0x0F) << 12 | UInt32(text[i + 1] & 0x3F) << 6 | UInt32(text[i + 2] & 0x3F)
        length = 3
      } else {
        v = (b0 & 0x07) << 18 | UInt32(text[i + 1] & 0x3F) << 12 | UInt32(text[i + 2] & 0x3F) << 6
          | UInt32(text[i + 3] & 0x3F)
        length = 4
      }
      if v < 0x10000 {
        if inertBMP[Int(v >> 6)] & (1 << UInt64(v & 63)) == 0 { return false }
      } else if !isInert(Unicode.Scalar(v)!) {
        return false
      }
      i += length
    }
    return true
  }

  /// Appends the NFC form of `text` (valid UTF-8) to `out`.
  static func normalize(_ text: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
    let n = text.count
    var copied = 0  // text[..<copied] is in out
    var i = 0
    while i < n {
      if text[i] < 0x80 {
        i += 1
        continue
      }
      // A non-ASCII run text[i..<end], with the ASCII scalar before it when there is one.
      var end = i
      while end < n && text[end] >= 0x80 { end += 1 }
      let start = i > copied ? i - 1 : i
      let run = UnsafeBufferPointer(rebasing: text[start..<end])
      if !isInert(run) {
        out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<start]))
        out.append(contentsOf: String(decoding: run, as: UTF8.self)._nfcCodeUnits)
        copied = end
      }
      i = end
    }
    out.append(contentsOf: UnsafeBufferPointer(rebasing: text[copied..<n]))
  }
}
