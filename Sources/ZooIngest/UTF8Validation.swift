/// Strict UTF-8 validation (RFC 3629): no overlong forms, no surrogates (U+D800–DFFF), nothing
/// above U+10FFFF. ASCII runs are checked 8 bytes at a time.
public enum UTF8Validation {
  /// True when `bytes` is well-formed UTF-8.
  public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return true }
    let n = bytes.count
    var i = 0
    while i < n {
      if i + 8 <= n {
        let word = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
        if word & 0x8080_8080_8080_8080 == 0 {
          i += 8
          continue
        }
      }
      let b0 = base[i]
      if b0 < 0x80 {
        i += 1
        continue
      }
      if b0 < 0xC2 { return false }  // continuation byte or overlong 2-byte lead
      if b0 < 0xE0 {
        guard i + 1 < n, isContinuation(base[i + 1]) else { return false }
        i += 2
        continue
      }
      if b0 < 0xF0 {
        guard i + 2 < n else { return false }
        let b1 = base[i + 1]
        let lower: UInt8 = b0 == 0xE0 ? 0xA0 : 0x80  // E0: no overlong
        let upper: UInt8 = b0 == 0xED ? 0x9F : 0xBF  // ED: no surrogates
        guard b1 >= lower, b1 <= upper, isContinuation(base[i + 2]) else { return false }
        i += 3
        continue
      }
      if b0 < 0xF5 {
        guard i + 3 < n else { return false }
        let b1 = base[i + 1]
        let lower: UInt8 = b0 == 0xF0 ? 0x90 : 0x80  // F0: no overlong
        let upper: UInt8 = b0 == 0xF4 ? 0x8F : 0xBF  // F4: nothing above U+10FFFF
        guard b1 >= lower, b1 <= upper, isContinuation(base[i + 2]), isContinuation(base[i + 3])
        else { return false }
        i += 4
        continue
      }
      return false
    }
    return true
  }

  @inline(__always) private static func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
}
