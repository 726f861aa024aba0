// swift-format-ignore-file: AlwaysUseLowerCamelCase
import ZooSupport

/// Exact causal convolution of each channel with its own length-`T` filter, by FFT:
/// `y[b, t, c] = Σ_{s≤t} k[c, s] · x[b, t−s, c]` (zoology's `fft_conv` without the `+u`,
/// docs/MODELS.md, "BaseConv"), on the `[batch, T, channels]` layout the model uses.
///
/// How: sequences are zero-padded to `N ≥ 2T`, so the circular FFT product has no wrap-around and
/// position `t` sees only `x[0...t]`. Eight channels go through one ``RealLaneFFT`` at once (their
/// values at each position are adjacent in memory, so nothing is transposed; the real transform
/// is a complex one of half the size), and the filter's spectrum `K` is computed once per call
/// for all batch rows. Each batch row is transformed on
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
    let fft = RealLaneFFT(size: LaneFFT.size(atLeast: max(4, 2 * T)))
    let count = fft.spectrumCount
    let scale = 2 / Float(fft.N)
    let io = UncheckedSendable((y: y, x: x, k: k))
    parallelFor((C + 7) / 8, threads: threads) { group in
      let lanes = Lanes(first: group * 8, channels: C, T: T)
      let work = Workspace(count: count, buffers: 2)
      defer { work.deallocate() }
      let (kRe, kIm) = work.buffer(0)
      let (aRe, aIm) = work.buffer(1)
      lanes.loadFilter(io.value.k, re: kRe, im: kIm, count: count)
      fft.forward(re: kRe, im: kIm)
      for b in 0..<B {
        lanes.loadRow(io.value.x, batch: b, re: aRe, im: aIm, count: count)
        fft.forward(re: aRe, im: aIm)
        multiply(aRe, aIm, by: kRe, kIm, conjugate: false, count: count)
        fft.inverse(re: aRe, im: aIm)
        lanes.storeRow(io.value.y, batch: b, re: aRe, im: aIm, scale: scale, accumulate: false)
      }
    }
  }

  /// Backward of ``forward``: accumulates (`+=`) `dX`: `[batch, T, channels]` and `dK`: `[channels, T]`.
  public static func backward(
    dX: UnsafeMutablePointer<Float>, dK: UnsafeMutablePointer<Float>, dY: UnsafePointer<Float>, x: UnsafePointer<Float>,
    k: UnsafePointer<Float>, batch B: Int, T: Int, channels C: Int, threads: Int
  ) {
    let fft = RealLaneFFT(size: LaneFFT.size(atLeast: max(4, 2 * T)))
    let count = fft.spectrumCount
    let scale = 2 / Float(fft.N)
    let io = UncheckedSendable((dX: dX, dK: dK, dY: dY, x: x, k: k))
    parallelFor((C + 7) / 8, threads: threads) { group in
      let lanes = Lanes(first: group * 8, channels: C, T: T)
      let work = Workspace(count: count, buffers: 4)
      defer { work.deallocate() }
      let (kRe, kIm) = work.buffer(0)
      let (qRe, qIm) = work.buffer(1)
      let (pRe, pIm) = work.buffer(2)
      let (sumRe, sumIm) = work.buffer(3)
      lanes.loadFilter(io.value.k, re: kRe, im: kIm, count: count)
      fft.forward(re: kRe, im: kIm)
      sumRe.update(repeating: .zero, count: count)
      sumIm.update(repeating: .zero, count: count)
      for b in 0..<B {
        lanes.loadRow(io.value.dY, batch: b, re: qRe, im: qIm, count: count)
        fft.forward(re: qRe, im: qIm)
        lanes.loadRow(io.value.x, batch: b, re: pRe, im: pIm, count: count)
        fft.forward(re: pRe, im: pIm)
        for i in 0..<count {  // sum += conj(X_b) · DY_b
          sumRe[i] += pRe[i] * qRe[i] + pIm[i] * qIm[i]
          sumIm[i] += pRe[i] * qIm[i] - pIm[i] * qRe[i]
        }
        multiply(qRe, qIm, by: kRe, kIm, conjugate: true, count: count)
        fft.inverse(re: qRe, im: qIm)
        lanes.storeRow(io.value.dX, batch: b, re: qRe, im: qIm, scale: scale, accumulate: true)
      }
      fft.inverse(re: sumRe, im: sumIm)
      lanes.accumulateFilter(io.value.dK, re: sumRe, im: sumIm, scale: scale)
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
    by wRe: UnsafeMutablePointer<SIMD8<Float>>, _ wIm: UnsafeMutablePointer<SIMD8<Float>>, conjugate: Bool, count: Int
  ) {
    let s: SIMD8<Float> = conjugate ? SIMD8(repeating: -1) : SIMD8(repeating: 1)
    for i in 0..<count {
      let (ar, ai, wr, wi) = (aRe[i], aIm[i], wRe[i], s * wIm[i])
      aRe[i] = ar * wr - ai * wi
      aIm[i] = ar * wi + ai * wr
    }
  }

  /// Complex lane buffers of `count` entries (a spectrum) of one thread, allocated once per call.
  private struct Workspace {
    let base: UnsafeMutablePointer<SIMD8<Float>>
    let count: Int

    init(count: Int, buffers: Int) {
      self.count = count
      base = .allocate(capacity: 2 * count * buffers)
    }

    func buffer(_ i: Int) -> (UnsafeMutablePointer<SIMD8<Float>>, UnsafeMutablePointer<SIMD8<Float>>) {
      (base + 2 * count * i, base + 2 * count * i + count)
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

    /// Filter rows `k[c, 0..<T]` of the lanes' channels, zero-padded and packed for
    /// ``RealLaneFFT`` (even samples as real, odd as imaginary parts) into `count` entries.
    func loadFilter(
      _ k: UnsafePointer<Float>, re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>, count: Int
    ) {
      re.update(repeating: .zero, count: count)
      im.update(repeating: .zero, count: count)
      for l in 0..<self.count {
        let row = k + (first + l) * T
        for t in 0..<T {
          if t & 1 == 0 { re[t >> 1][l] = row[t] } else { im[t >> 1][l] = row[t] }
        }
      }
    }

    /// Row `b` of a `[batch, T, channels]` tensor, zero-padded and packed for ``RealLaneFFT``
    /// into `count` entries.
    func loadRow(
      _ a: UnsafePointer<Float>, batch b: Int, re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>,
      count: Int
    ) {
      let row = a + b * T * channels + first
      let pairs = T / 2
      for n in 0..<pairs {
        re[n] = load(row + 2 * n * channels)
        im[n] = load(row + (2 * n + 1) * channels)
      }
      var filled = pairs
      if T & 1 == 1 {
        re[pairs] = load(row + (T - 1) * channels)
        im[pairs] = .zero
        filled += 1
      }
      (re + filled).update(repeating: .zero, count: count - filled)
      (im + filled).update(repeating: .zero, count: count - filled)
    }

    /// Writes (or adds) `scale ·` the first `T` outputs of ``RealLaneFFT/inverse(re:im:)`` into row `b`.
    func storeRow(
      _ a: UnsafeMutablePointer<Float>, batch b: Int, re: UnsafeMutablePointer<SIMD8<Float>>,
      im: UnsafeMutablePointer<SIMD8<Float>>, scale: Float, accumulate: Bool
    ) {
      let row = a + b * T * channels + first
      for t in 0..<T {
        let v = t & 1 == 0 ? re[t >> 1] : im[t >> 1]
        store(v * scale, row + t * channels, accumulate: accumulate)
      }
    }

    /// `dk[c, t] += scale ·` output `t` of ``RealLaneFFT/inverse(re:im:)``, for the lanes' channels.
    func accumulateFilter(
      _ dk: UnsafeMutablePointer<Float>, re: UnsafeMutablePointer<SIMD8<Float>>, im: UnsafeMutablePointer<SIMD8<Float>>,
      scale: Float
    ) {
      for l in 0..<count {
        let row = dk + (first + l) * T
        for t in 0..<T { row[t] += (t & 1 == 0 ? re[t >> 1][l] : im[t >> 1][l]) * scale }
      }
    }
  }
}
