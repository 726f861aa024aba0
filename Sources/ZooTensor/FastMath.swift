/// Vectorized `exp` for softmax: range reduction to `r ∈ [-ln2/2, ln2/2]`, a degree-6
/// polynomial (Cephes `expf` coefficients), then scaling by `2^n` through the exponent bits.
/// Relative error below 2e-7 over the float range; inputs below -87 give 0.
public enum FastMath {
  @inline(__always)
  public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // Clamp with comparisons (SIMD `clamped` is not specialized and costs a call per vector).
    var clamped = x.replacing(with: -87.3, where: x .< -87.3)
    clamped = clamped.replacing(with: 88.3, where: clamped .> 88.3)
    // Round x·log2(e) to the nearest integer with the 1.5·2^23 trick: the integer lands in the
    // low mantissa bits, readable without a (slow, generic) float-to-int conversion.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    var r = clamped - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_6e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_1e-1
    let r2 = r * r
    let e = p * r2 + r + 1
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    return (e * scale).replacing(with: 0, where: x .< -87.3)
  }

  /// Scalar version of ``exp(_:)-(SIMD8<Float>)`` (the same arithmetic).
  @inline(__always)
  public static func exp(_ x: Float) -> Float { exp(SIMD8(repeating: x))[0] }

  /// In place: `row[i] = exp(row[i] - shift)`; returns the sum of the results (in Double lanes).
  @inline(__always)
  public static func expShifted(_ row: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    var sum = SIMD8<Float>(repeating: 0)
    var i = 0
    let s = SIMD8<Float>(repeating: shift)
    while i + 8 <= count {
      let v = UnsafeMutableRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
      let e = exp(v - s)
      UnsafeMutableRawPointer(row + i).storeBytes(of: e, as: SIMD8<Float>.self)
      sum += e
      i += 8
    }
    var total = sum.sum()
    while i < count {
      let e = exp(row[i] - shift)
      row[i] = e
      total += e
      i += 1
    }
    return total
  }

  /// The maximum of `count` floats.
  @inline(__always)
  public static func max(_ row: UnsafePointer<Float>, count: Int) -> Float {
    var m = SIMD8<Float>(repeating: -.infinity)
    var i = 0
    while i + 8 <= count {
      let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD8<Float>.self)
      m = m.replacing(with: v, where: v .> m)
      i += 8
    }
    var best = m.max()
    while i < count {
      best = Swift.max(best, row[i])
      i += 1
    }
    return best
  }
}
