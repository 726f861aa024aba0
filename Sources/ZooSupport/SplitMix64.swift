/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast generator whose output depends only on
/// the seed, never on the toolchain. Every random draw in Zoo goes through it so that runs and
/// golden tests reproduce.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator seeded with `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform Float in [0, 1) from the top 24 bits (as llm.c's `random_f32`).
  public mutating func nextFloat() -> Float {
    Float(next() >> 40) / Float(1 << 24)
  }

  /// A uniform Double in [0, 1) from the top 53 bits.
  public mutating func nextDouble() -> Double {
    Double(next() >> 11) / Double(UInt64(1) << 53)
  }

  /// A uniform integer in `0..<n` (Lemire's multiply-shift, rejection for exactness).
  public mutating func nextInt(below n: Int) -> Int {
    precondition(n > 0, "nextInt(below: \(n))")
    let bound = UInt64(n)
    while true {
      let x = next()
      let m = x.multipliedFullWidth(by: bound)
      if m.low >= (0 &- bound) % bound { return Int(m.high) }
    }
  }

  /// A standard normal draw (Box–Muller).
  public mutating func nextGaussian() -> Double {
    var u1 = nextDouble()
    while u1 <= 0 { u1 = nextDouble() }
    let u2 = nextDouble()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  /// Fisher–Yates shuffle of `array` in place.
  public mutating func shuffle<T>(_ array: inout [T]) {
    guard array.count > 1 else { return }
    for i in stride(from: array.count - 1, to: 0, by: -1) {
      array.swapAt(i, nextInt(below: i + 1))
    }
  }
}

#if canImport(Glibc)
  import Glibc
  private func _log(_ x: Double) -> Double { Glibc.log(x) }
  private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#else
  import Darwin
  private func _log(_ x: Double) -> Double { Darwin.log(x) }
  private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
