// swift-format-ignore-file: AlwaysUseLowerCamelCase
import Foundation

/// Eight independent complex sequences transformed at once: element `i` of the data is a
/// `SIMD8<Float>` holding position `i` of eight sequences (eight channels of a `[batch, length,
/// channels]` tensor, loaded as they lie in memory), so every butterfly works on eight lanes and
/// no data is ever transposed.
///
/// An iterative radix-2 decimation-in-time transform of one power-of-two size. Its twiddles are
/// precomputed per stage and stored contiguously (stage `h` uses `w[h + j] = e^{−iπj/h}`,
/// `j < h`), so the inner loop reads them in order; the bit-reversal permutation is a table.
/// Used by ``CausalLongConvolution``; data are split real and imaginary arrays.
public struct LaneFFT: Sendable {
  /// Transform size (a power of two).
  public let N: Int
  private let cosTable: [Float]
  private let sinTable: [Float]
  private let swaps: [(Int32, Int32)]

  /// A plan for size `N` (a power of two, at least 2).
  public init(size N: Int) {
    precondition(N >= 2 && N & (N - 1) == 0, "FFT size \(N) must be a power of two")
    self.N = N
    var cosTable = [Float](repeating: 0, count: N)
    var sinTable = [Float](repeating: 0, count: N)
    var h = 1
    while h < N {
      for j in 0..<h {
        let angle = -Double.pi * Double(j) / Double(h)
        cosTable[h + j] = Float(cos(angle))
        sinTable[h + j] = Float(sin(angle))
      }
      h *= 2
    }
    self.cosTable = cosTable
    self.sinTable = sinTable
    let bits = N.trailingZeroBitCount
    var swaps: [(Int32, Int32)] = []
    for i in 0..<N {
      let j = (0..<bits).reduce(0) { r, b in r | ((i >> b) & 1) << (bits - 1 - b) }
      if i < j { swaps.append((Int32(i), Int32(j))) }
    }
    self.swaps = swaps
  }

  /// The smallest power of two ≥ `n` (at least 2).
  public static func size(atLeast n: Int) -> Int {
    var N = 2
    while N < n { N <<= 1 }
    return N
  }

  /// In-place transform of `re`/`im` (length `N`): `X[k] = Σ_n x[n] e^{∓2πikn/N}`, the minus sign
  /// forward; `inverse` computes the unnormalized inverse (the caller divides by `N`).
  @inline(__always)
  public func transform(re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>, inverse: Bool) {
    for (i, j) in swaps {
      let (a, b) = (Int(i), Int(j))
      (re[a], re[b]) = (re[b], re[a])
      (im[a], im[b]) = (im[b], im[a])
    }
    // The first stage's only twiddle is 1.
    var start = 0
    while start < N {
      let (ar, ai, br, bi) = (re[start], im[start], re[start + 1], im[start + 1])
      re[start] = ar + br
      im[start] = ai + bi
      re[start + 1] = ar - br
      im[start + 1] = ai - bi
      start += 2
    }
    let sign: Float = inverse ? -1 : 1
    cosTable.withUnsafeBufferPointer { cosT in
      sinTable.withUnsafeBufferPointer { sinT in
        var half = 2
        while half < N {
          var start = 0
          while start < N {
            for k in 0..<half {
              let wr = SIMD8(repeating: cosT[half + k])
              let wi = SIMD8(repeating: sign * sinT[half + k])
              let a = start + k
              let b = a + half
              let (xr, xi) = (re[b], im[b])
              let tr = xr * wr - xi * wi
              let ti = xr * wi + xi * wr
              let (ar, ai) = (re[a], im[a])
              re[b] = ar - tr
              im[b] = ai - ti
              re[a] = ar + tr
              im[a] = ai + ti
            }
            start += 2 * half
          }
          half *= 2
        }
      }
    }
  }
}
