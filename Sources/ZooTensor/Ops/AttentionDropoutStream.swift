import ZooSupport

/// The keep-mask draws of attention dropout for one (batch, head) item: its own SplitMix64
/// stream, so the mask is the same for any thread count, two 32-bit draws per 64-bit number.
/// Each draw is 0 (dropped, with probability p) or 1/(1 − p) (kept).
struct AttentionDropoutStream {
  private var rng: SplitMix64
  private let threshold: UInt32
  private let keep: Float
  private var bits: UInt64 = 0
  private var left = 0

  /// The stream of item `item` of an attention op whose dropout seed is `seed`.
  init(p: Float, seed: UInt64, item: Int) {
    rng = SplitMix64(seed: seed &+ UInt64(item) &* 0x9E37_79B9_7F4A_7C15)
    threshold = UInt32(min(Double(p) * 4_294_967_296, 4_294_967_295))
    keep = 1 / (1 - p)
  }

  /// The next mask value.
  mutating func next() -> Float {
    if left == 0 {
      bits = rng.next()
      left = 2
    }
    let draw = UInt32(truncatingIfNeeded: bits)
    bits >>= 32
    left -= 1
    return draw < threshold ? 0 : keep
  }
}
