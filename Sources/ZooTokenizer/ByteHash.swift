/// A fast 64-bit hash of a short byte string, 8 bytes at a time (used by the rank tables,
/// where keys are token byte strings of a few bytes).
@inline(__always)
func byteHash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
  var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(n)
  var i = 0
  while i + 8 <= n {
    let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
    h = (h ^ w) &* 0xFF51_AFD7_ED55_8CCD
    h ^= h >> 32
    i += 8
  }
  if i < n {
    var w: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
      w |= UInt64(p[i]) << shift
      shift += 8
      i += 1
    }
    h = (h ^ w) &* 0xC4CE_B9FE_1A85_EC53
    h ^= h >> 29
  }
  h = (h ^ (h >> 33)) &* 0xFF51_AFD7_ED55_8CCD
  return h ^ (h >> 33)
}

/// Mixes a 64-bit key (a packed token pair).
@inline(__always)
func pairHash(_ key: UInt64) -> UInt64 {
  var h = key &* 0x9E37_79B9_7F4A_7C15
  h ^= h >> 31
  return h &* 0xBF58_476D_1CE4_E5B9
}
