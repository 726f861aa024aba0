// swift-format-ignore-file: AlwaysUseLowerCamelCase
import ZooSupport

/// Exact causal convolution of each channel with its own length-`T` filter, by FFT:
/// `y[c, t] = Σ_{s≤t} k[c, s] · u[c, t−s]` (zoology's `fft_conv` without the `+u`, PAPER.md §6.4).
///
/// Both sequences are zero-padded to `N ≥ 2T`, so the circular FFT product has no wrap-around
/// and position `t` sees only `u[0...t]`. Channels are independent and each is computed by
/// one thread, so results are identical for any thread count. Causal exactly in arithmetic and
/// up to float rounding (~1e-7 relative) in practice, as any FFT convolution. O(C·T log T) against the
/// O(C·T²) ``reference(y:u:k:C:T:)`` kept beside it.
///
/// Shapes: `u`, `y`, `dY`, `dU`: (C, T) where C counts every independent (batch × channel)
/// row; `k`, `dK`: (C, T) or (1 filter per channel group, see `filterRows`).
public enum CausalLongConvolution {
  /// y: (C, T) = k ∗ u per row. `filterOf(row)` maps a row of `u` to its row of `k`
  /// (e.g. `row % channels` when `u` is (B·channels, T) and `k` is (channels, T)).
  public static func forward(
    y: UnsafeMutablePointer<Float>, u: UnsafePointer<Float>, k: UnsafePointer<Float>, rows C: Int, T: Int,
    filterOf: @Sendable (Int) -> Int, threads: Int
  ) {
    let fft = FFT(size: FFT.size(atLeast: 2 * T))
    let io = UncheckedSendable((y: y, u: u, k: k))
    parallelFor(C, threads: threads) { c in
      var buffers = Buffers(N: fft.N)
      buffers.load(a: io.value.u + c * T, b: io.value.k + filterOf(c) * T, T: T)
      buffers.multiply(fft: fft, conjugateA: false)
      buffers.store(into: io.value.y + c * T, T: T, accumulate: false)
    }
  }

  /// Backward of ``forward``: accumulates (`+=`) dU: (C, T) and dK (filter rows).
  ///
  /// The filter gradient of a shared filter row sums over every row using it; to keep that
  /// sum's order fixed for any thread count, dK is accumulated row by row in order after the
  /// per-row correlations are computed in parallel.
  public static func backward(
    dU: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dY: UnsafePointer<Float>,
    u: UnsafePointer<Float>, k: UnsafePointer<Float>, rows C: Int, T: Int, filterOf: @Sendable (Int) -> Int,
    threads: Int
  ) {
    // forward was: y[t] += k[s] * u[t - s]
    // so: dU[m] += Σ_s k[s] · dY[m + s]   (correlation of dY with k)
    //     dK[s] += Σ_m u[m] · dY[m + s]   (correlation of dY with u)
    let fft = FFT(size: FFT.size(atLeast: 2 * T))
    let dKRows = UnsafeMutablePointer<Float>.allocate(capacity: C * T)
    defer { dKRows.deallocate() }
    let io = UncheckedSendable((dU: dU, dKRows: dKRows, dY: dY, u: u, k: k))
    parallelFor(C, threads: threads) { c in
      var buffers = Buffers(N: fft.N)
      buffers.load(a: io.value.k + filterOf(c) * T, b: io.value.dY + c * T, T: T)
      buffers.multiply(fft: fft, conjugateA: true)
      buffers.store(into: io.value.dU + c * T, T: T, accumulate: true)
      buffers.load(a: io.value.u + c * T, b: io.value.dY + c * T, T: T)
      buffers.multiply(fft: fft, conjugateA: true)
      buffers.store(into: io.value.dKRows + c * T, T: T, accumulate: false)
    }
    for c in 0..<C {
      let dst = dK + filterOf(c) * T
      let src = dKRows + c * T
      for t in 0..<T { dst[t] += src[t] }
    }
  }

  /// The O(C·T²) definition, for tests and as the meaning of ``forward``.
  public static func reference(
    y: UnsafeMutablePointer<Float>, u: UnsafePointer<Float>, k: UnsafePointer<Float>, rows C: Int, T: Int,
    filterOf: (Int) -> Int
  ) {
    for c in 0..<C {
      let kc = k + filterOf(c) * T
      for t in 0..<T {
        var sum: Float = 0
        for s in 0...t { sum += kc[s] * u[c * T + t - s] }
        y[c * T + t] = sum
      }
    }
  }

  /// Per-thread scratch: two complex sequences of length N.
  private struct Buffers {
    var aRe: [Float]
    var aIm: [Float]
    var bRe: [Float]
    var bIm: [Float]

    init(N: Int) {
      aRe = [Float](repeating: 0, count: N)
      aIm = aRe
      bRe = aRe
      bIm = aRe
    }

    /// Zero-padded copies of two real length-T sequences.
    mutating func load(a: UnsafePointer<Float>, b: UnsafePointer<Float>, T: Int) {
      let N = aRe.count
      for i in 0..<N {
        aRe[i] = i < T ? a[i] : 0
        bRe[i] = i < T ? b[i] : 0
        aIm[i] = 0
        bIm[i] = 0
      }
    }

    /// b ← IFFT(FFT(a)ᶜ · FFT(b)) / N, with `ᶜ` the complex conjugate when `conjugateA`.
    mutating func multiply(fft: FFT, conjugateA: Bool) {
      let N = aRe.count
      aRe.withUnsafeMutableBufferPointer { aRe in
        aIm.withUnsafeMutableBufferPointer { aIm in
          bRe.withUnsafeMutableBufferPointer { bRe in
            bIm.withUnsafeMutableBufferPointer { bIm in
              fft.transform(re: aRe.baseAddress!, im: aIm.baseAddress!, inverse: false)
              fft.transform(re: bRe.baseAddress!, im: bIm.baseAddress!, inverse: false)
              let s: Float = conjugateA ? -1 : 1
              for i in 0..<N {
                let re = aRe[i] * bRe[i] - s * aIm[i] * bIm[i]
                let im = aRe[i] * bIm[i] + s * aIm[i] * bRe[i]
                bRe[i] = re
                bIm[i] = im
              }
              fft.transform(re: bRe.baseAddress!, im: bIm.baseAddress!, inverse: true)
            }
          }
        }
      }
    }

    /// Writes (or adds) the first T real values of b / N.
    func store(into out: UnsafeMutablePointer<Float>, T: Int, accumulate: Bool) {
      let scale = 1 / Float(bRe.count)
      for t in 0..<T { out[t] = (accumulate ? out[t] : 0) + bRe[t] * scale }
    }
  }
}
