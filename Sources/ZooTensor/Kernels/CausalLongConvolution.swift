// swift-format-ignore-file: AlwaysUseLowerCamelCase
import ZooSupport

/// Exact causal convolution of each channel with its own length-`T` filter, by FFT:
/// `y[b, t, c] = Σ_{s≤t} k[c, s] · x[b, t−s, c]` (zoology's `fft_conv` without the `+u`,
/// docs/MODELS.md, "BaseConv"), on the `[batch, T, channels]` layout the model uses.
///
/// How: sequences are zero-padded to `N ≥ 2T`, so the circular FFT product has no wrap-around and
/// position `t` sees only `x[0...t]`. Eight channels go through one ``LaneFFT`` at once (their
/// values at each position are adjacent in memory, so nothing is transposed), and the filter's
/// spectrum `K` is computed once per call for all batch rows. Each batch row is transformed on
/// its own, so a row's result does not depend on the other rows, not even in rounding.
///
/// Backward, from `y[t] = Σ_s k[s]·x[t−s]`:
/// - `dx[m] = Σ_s k[s]·dy[m+s]`, a correlation: `IFFT(conj(K) · DY)`;
/// - `dk[s] = Σ_b Σ_m x_b[m]·dy_b[m+s]`: `IFFT(Σ_b conj(X_b) · DY_b)`, the sum over rows taken in
///   the frequency domain, so `dk` costs one inverse transform per channel group.
///
/// Each group of eight channels is computed by one thread, all batch rows in order, so results
/// are the same bits for any thread count. Causal exactly in arithmetic and up to float rounding
/// (~1e-7 relative) in practice, as any FFT convolution. O(B·C·T log T) against the O(B·C·T²)
/// ``reference(y:x:k:batch:T:channels:)`` kept beside it.
public enum CausalLongConvolution {
  /// `y`, `x`: `[batch, T, channels]`; `k`: `[channels, T]`. Overwrites `y`.
  public static func forward(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, k: UnsafePointer<Float>, batch B: Int, T: Int,
    channels C: Int, threads: Int
  ) {
    let fft = LaneFFT(size: LaneFFT.size(atLeast: 2 * T))
    let io = UncheckedSendable((y: y, x: x, k: k))
    parallelFor((C + 7) / 8, threads: threads) { group in
      let lanes = Lanes(first: group * 8, channels: C, T: T)
      let work = Workspace(N: fft.N, buffers: 2)
      defer { work.deallocate() }
      let (kRe, kIm) = work.buffer(0)
      let (aRe, aIm) = work.buffer(1)
      lanes.loadFilter(io.value.k, re: kRe, im: kIm, N: fft.N)
      fft.transform(re: kRe, im: kIm, inverse: false)
      for b in 0..<B {
        lanes.loadRow(io.value.x, batch: b, re: aRe, im: aIm, N: fft.N)
        fft.transform(re: aRe, im: aIm, inverse: false)
        multiply(aRe, aIm, by: kRe, kIm, conjugate: false, N: fft.N)
        fft.transform(re: aRe, im: aIm, inverse: true)
        lanes.storeRow(io.value.y, batch: b, re: aRe, scale: 1 / Float(fft.N), accumulate: false)
      }
    }
  }

  /// Backward of ``forward``: accumulates (`+=`) `dX`: `[batch, T, channels]` and `dK`: `[channels, T]`.
  public static func backward(
    dX: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dY: UnsafePointer<Float>, x: UnsafePointer<Float>,
    k: UnsafePointer<Float>, batch B: Int, T: Int, channels C: Int, threads: Int
  ) {
    let fft = LaneFFT(size: LaneFFT.size(atLeast: 2 * T))
    let io = UncheckedSendable((dX: dX, dK: dK, dY: dY, x: x, k: k))
    parallelFor((C + 7) / 8, threads: threads) { group in
      let lanes = Lanes(first: group * 8, channels: C, T: T)
      let work = Workspace(N: fft.N, buffers: 4)
      defer { work.deallocate() }
      let (kRe, kIm) = work.buffer(0)
      let (qRe, qIm) = work.buffer(1)
      let (pRe, pIm) = work.buffer(2)
      let (sumRe, sumIm) = work.buffer(3)
      lanes.loadFilter(io.value.k, re: kRe, im: kIm, N: fft.N)
      fft.transform(re: kRe, im: kIm, inverse: false)
      sumRe.update(repeating: .zero, count: fft.N)
      sumIm.update(repeating: .zero, count: fft.N)
      for b in 0..<B {
        lanes.loadRow(io.value.dY, batch: b, re: qRe, im: qIm, N: fft.N)
        fft.transform(re: qRe, im: qIm, inverse: false)
        lanes.loadRow(io.value.x, batch: b, re: pRe, im: pIm, N: fft.N)
        fft.transform(re: pRe, im: pIm, inverse: false)
        for i in 0..<fft.N {  // sum += conj(X_b) · DY_b
          sumRe[i] += pRe[i] * qRe[i] + pIm[i] * qIm[i]
          sumIm[i] += pRe[i] * qIm[i] - pIm[i] * qRe[i]
        }
        multiply(qRe, qIm, by: kRe, kIm, conjugate: true, N: fft.N)
        fft.transform(re: qRe, im: qIm, inverse: true)
        lanes.storeRow(io.value.dX, batch: b, re: qRe, scale: 1 / Float(fft.N), accumulate: true)
      }
      fft.transform(re: sumRe, im: sumIm, inverse: true)
      lanes.accumulateFilter(io.value.dK, re: sumRe, scale: 1 / Float(fft.N))
    }
  }

  /// The O(B·C·T²) definition, for tests and as the meaning of ``forward``.
  public static func reference(
    y: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, k: UnsafePointer<Float>, batch B: Int, T: Int, channels C: Int
  ) {
    for b in 0..<B {
      for t in 0..<T {
        for c in 0..<C {
          var sum: Float = 0
          for s in 0...t { sum += k[c * T + s] * x[(b * T + t - s) * C + c] }
          y[(b * T + t) * C + c] = sum
        }
      }
    }
  }

  /// `a ← a · w` (or `a · conj(w)`), elementwise over complex lanes.
  @inline(__always)
  private static func multiply(
    _ aRe: UnsafeMutablePointer<SIMD8<Float>>, _ aIm: UnsafeMutablePointer<SIMD8<Float>>,
    by wRe: UnsafeMutablePointer<SIMD8<Float>>, _ wIm: UnsafeMutablePointer<SIMD8<Float>>, conjugate: Bool, N: Int
  ) {
    let s: SIMD8<Float> = conjugate ? SIMD8(repeating: -1) : SIMD8(repeating: 1)
    for i in 0..<N {
      let (ar, ai, wr, wi) = (aRe[i], aIm[i], wRe[i], s * wIm[i])
      aRe[i] = ar * wr - ai * wi
      aIm[i] = ar * wi + ai * wr
    }
  }

  /// Complex lane buffers of one thread, allocated once per call.
  private struct Workspace {
    let base: UnsafeMutablePointer<SIMD8<Float>>
    let N: Int

    init(N: Int, buffers: Int) {
      self.N = N
      base = .allocate(capacity: 2 * N * buffers)
    }

    func buffer(_ i: Int) -> (UnsafeMutablePointer<SIMD8<Float>>, UnsafeMutablePointer<SIMD8<Float>>) {
      (base + 2 * N * i, base + 2 * N * i + N)
    }

    func deallocate() { base.deallocate() }
  }

  /// Channels `first..<first + count` (count ≤ 8) as the lanes of a transform; lanes past the
  /// last channel hold zeros.
  private struct Lanes {
    let first: Int
    let count: Int
    let channels: Int
    let T: Int

    init(first: Int, channels: Int, T: Int) {
      self.first = first
      self.count = min(8, channels - first)
      self.channels = channels
      self.T = T
    }

    @inline(__always) private func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
      if count == 8 { return UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }
      var v = SIMD8<Float>.zero
      for l in 0..<count { v[l] = p[l] }
      return v
    }

    @inline(__always) private func store(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, accumulate: Bool) {
      if count == 8 {
        let old = accumulate ? UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) : .zero
        UnsafeMutableRawPointer(p).storeBytes(of: old + v, as: SIMD8<Float>.self)
      } else {
        for l in 0..<count { p[l] = (accumulate ? p[l] : 0) + v[l] }
      }
    }

    /// Filter rows `k[c, 0..<T]` of the lanes' channels, zero-padded to `N`, imaginary part 0.
    func loadFilter(_ k: UnsafePointer<Float>, re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>, N: Int) {
      for t in 0..<N {
        var v = SIMD8<Float>.zero
        if t < T { for l in 0..<count { v[l] = k[(first + l) * T + t] } }
        re[t] = v
        im[t] = .zero
      }
    }

    /// Row `b` of a `[batch, T, channels]` tensor as real parts, zero-padded to `N`.
    func loadRow(
      _ a: UnsafePointer<Float>, batch b: Int, re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>,
      N: Int
    ) {
      let row = a + b * T * channels + first
      for t in 0..<T { re[t] = load(row + t * channels) }
      (re + T).update(repeating: .zero, count: N - T)
      im.update(repeating: .zero, count: N)
    }

    /// Writes (or adds) `scale ·` the first `T` real values into row `b`.
    func storeRow(
      _ a: UnsafeMutablePointer<Float>, batch b: Int, re: UnsafeMutablePointer<SIMD8<Float>>, scale: Float, accumulate: Bool
    ) {
      let row = a + b * T * channels + first
      for t in 0..<T { store(re[t] * scale, row + t * channels, accumulate: accumulate) }
    }

    /// `dk[c, t] += scale · re[t]` for the lanes' channels.
    func accumulateFilter(_ dk: UnsafeMutablePointer<Float>, re: UnsafeMutablePointer<SIMD8<Float>>, scale: Float) {
      for l in 0..<count {
        let row = dk + (first + l) * T
        for t in 0..<T { row[t] += re[t][l] * scale }
      }
    }
  }
}
