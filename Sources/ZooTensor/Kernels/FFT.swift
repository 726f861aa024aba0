// swift-format-ignore-file: AlwaysUseLowerCamelCase
import Foundation

/// Eight independent complex sequences transformed at once: element `i` of the data is a
/// `SIMD8<Float>` holding position `i` of eight sequences (eight channels of a `[batch, length,
/// channels]` tensor, loaded as they lie in memory), so every butterfly works on eight lanes and
/// no data is ever transposed.
///
/// An iterative radix-2 decimation-in-time transform of one power-of-two size, two stages per
/// pass over the data. Its twiddles are precomputed per stage and stored contiguously (stage `h`
/// uses `w[h + j] = e^{−iπj/h}`, `j < h`), so the inner loop reads them in order; the
/// bit-reversal permutation is a table.
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
        @inline(__always) func twiddle(_ i: Int) -> (SIMD8<Float>, SIMD8<Float>) {
          (SIMD8(repeating: cosT[i]), SIMD8(repeating: sign * sinT[i]))
        }
        /// The butterfly of stage `half` on `a` and `b` with twiddle `w`: `(a + w·b, a − w·b)`.
        @inline(__always) func butterfly(
          _ ar: SIMD8<Float>, _ ai: SIMD8<Float>, _ xr: SIMD8<Float>, _ xi: SIMD8<Float>, _ w: (SIMD8<Float>, SIMD8<Float>)
        ) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
          let tr = xr * w.0 - xi * w.1
          let ti = xr * w.1 + xi * w.0
          return (ar + tr, ai + ti, ar - tr, ai - ti)
        }
        var half = 2
        // Two stages per pass over the data (`half` and `2·half`, a radix-2² step): each group of
        // four elements goes through both stages' butterflies in registers. Every element gets the
        // same operations as with one stage per pass, so the same bits, in half the memory traffic.
        while 2 * half < N {
          var start = 0
          while start < N {
            for k in 0..<half {
              let (i0, i1, i2, i3) = (start + k, start + k + half, start + k + 2 * half, start + k + 3 * half)
              let w = twiddle(half + k)
              let (r0, m0, r1, m1) = butterfly(re[i0], im[i0], re[i1], im[i1], w)
              let (r2, m2, r3, m3) = butterfly(re[i2], im[i2], re[i3], im[i3], w)
              (re[i0], im[i0], re[i2], im[i2]) = butterfly(r0, m0, r2, m2, twiddle(2 * half + k))
              (re[i1], im[i1], re[i3], im[i3]) = butterfly(r1, m1, r3, m3, twiddle(3 * half + k))
            }
            start += 4 * half
          }
          half *= 4
        }
        // The last stage alone when the stage count after the first is odd.
        if half < N {
          for k in 0..<half {
            (re[k], im[k], re[k + half], im[k + half]) = butterfly(re[k], im[k], re[k + half], im[k + half], twiddle(half + k))
          }
        }
      }
    }
  }
}

/// The transform of eight real sequences of even length `N` at once, by one complex ``LaneFFT``
/// of half the size: the even samples are packed as real parts and the odd ones as imaginary
/// parts, `z[n] = x[2n] + i·x[2n+1]`, and the spectrum is unpacked from `Z = FFT_{N/2}(z)`:
///
///     X[k] = E[k] + W^k·O[k],  E[k] = (Z[k] + conj Z[M−k]) / 2,  O[k] = (Z[k] − conj Z[M−k]) / 2i,
///
/// with `M = N/2`, `W = e^{−2πi/N}`, for `k = 0...M` (a real sequence's spectrum is Hermitian, so
/// these `M + 1` values are all of it). The inverse runs the same steps backwards:
/// `E[k] = (Y[k] + conj Y[M−k]) / 2`, `O[k] = (Y[k] − conj Y[M−k])·W^{−k} / 2`, and
/// `IFFT_M(E + i·O)` holds the even outputs in its real and the odd ones in its imaginary parts.
/// Half the arithmetic and memory of a complex transform with zero imaginary parts.
public struct RealLaneFFT: Sendable {
  /// Real sequence length (a power of two, at least 4).
  public let N: Int
  /// Spectrum length, `N/2 + 1`.
  public var spectrumCount: Int { half.N + 1 }
  private let half: LaneFFT
  private let cosW: [Float]
  private let sinW: [Float]

  /// A plan for real sequences of length `N`.
  public init(size N: Int) {
    precondition(N >= 4 && N & (N - 1) == 0, "real FFT size \(N) must be a power of two, at least 4")
    self.N = N
    half = LaneFFT(size: N / 2)
    cosW = (0...N / 2).map { Float(cos(-2 * Double.pi * Double($0) / Double(N))) }
    sinW = (0...N / 2).map { Float(sin(-2 * Double.pi * Double($0) / Double(N))) }
  }

  /// `re`/`im` hold `z[n] = x[2n] + i·x[2n+1]` in their first `N/2` entries; on return their
  /// `N/2 + 1` entries hold the spectrum `X[0...N/2]`.
  @inline(__always)
  public func forward(re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>) {
    half.transform(re: re, im: im, inverse: false)
    let M = half.N
    let (z0r, z0i) = (re[0], im[0])
    re[0] = z0r + z0i
    im[0] = .zero
    re[M] = z0r - z0i
    im[M] = .zero
    let h = SIMD8<Float>(repeating: 0.5)
    for k in 1...(M / 2) {
      let j = M - k
      let (ar, ai, br, bi) = (re[k], im[k], re[j], -im[j])  // a = Z[k], b = conj Z[j]
      let (er, ei) = (h * (ar + br), h * (ai + bi))  // E[k]
      let (or, oi) = (h * (ai - bi), h * (br - ar))  // O[k] = (a − b) / 2i
      let (wr, wi) = (SIMD8(repeating: cosW[k]), SIMD8(repeating: sinW[k]))
      let (tr, ti) = (wr * or - wi * oi, wr * oi + wi * or)  // W^k O[k]
      let (vr, vi) = (SIMD8(repeating: cosW[j]), SIMD8(repeating: sinW[j]))
      let (ur, ui) = (vr * or + vi * oi, vi * or - vr * oi)  // W^j conj O[k]
      re[k] = er + tr
      im[k] = ei + ti
      re[j] = er + ur
      im[j] = -ei + ui
    }
  }

  /// `re`/`im` hold a Hermitian spectrum `Y[0...N/2]`; on return their first `N/2` entries hold
  /// `N/2 ·` (`y[2n]` as real, `y[2n+1]` as imaginary parts), `y` its real inverse transform.
  @inline(__always)
  public func inverse(re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>) {
    let M = half.N
    let h = SIMD8<Float>(repeating: 0.5)
    for k in 0...(M / 2) {
      let j = M - k
      let (ar, ai, br, bi) = (re[k], im[k], re[j], -im[j])  // a = Y[k], b = conj Y[j]
      let (er, ei) = (h * (ar + br), h * (ai + bi))  // E[k]
      let (dr, di) = (h * (ar - br), h * (ai - bi))  // (a − b) / 2
      let (wr, wi) = (SIMD8(repeating: cosW[k]), SIMD8(repeating: -sinW[k]))  // W^−k
      let (or, oi) = (dr * wr - di * wi, dr * wi + di * wr)  // O[k]
      // O[j] = (Y[j] − conj Y[k]) W^−j / 2 = −conj((a − b)/2) · W^−j
      let (vr, vi) = (SIMD8(repeating: cosW[j]), SIMD8(repeating: -sinW[j]))
      let (pr, pi) = (-dr * vr - di * vi, -dr * vi + di * vr)  // O[j]
      re[k] = er - oi  // E[k] + i O[k]
      im[k] = ei + or
      if j != k && j < M {
        re[j] = er - pi  // E[j] = conj E[k]
        im[j] = -ei + pr
      }
    }
    half.transform(re: re, im: im, inverse: true)
  }
}
