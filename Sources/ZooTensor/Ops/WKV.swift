import Foundation
import ZooSupport

/// RWKV v4's WKV operator (docs/MODELS.md, "RWKV"). Per channel `c`, with decay `w = exp(timeDecay[c])`
/// and bonus `u = timeFirst[c]`:
///
///     wkv_t = (Σ_{i<t} e^{−(t−1−i)w + k_i} v_i + e^{u + k_t} v_t) / (Σ_{i<t} e^{−(t−1−i)w + k_i} + e^{u + k_t})
///
/// Both passes are O(length) recurrences over the running sums `a_t = Σ_{i<t} e^{−(t−1−i)w + k_i} v_i`
/// and `b_t = Σ_{i<t} e^{−(t−1−i)w + k_i}`, kept as `a = p·e^o`, `b = q·e^o` with `o` the largest
/// exponent so far (RWKV's CUDA kernel), so no exponential of a large key is ever formed. The
/// backward pass recomputes the outputs and normalizers of one sequence, then runs the reverse-time
/// recurrence below; every exponent it evaluates is at most about 0.
///
/// Shapes: `k`, `v`, `out` `[batch, length, d]`; `timeDecay`, `timeFirst` `[d]`. One channel is one
/// work item (it loops over the batch), so results do not depend on the thread count.
public enum WKV {
  /// Fills `out`.
  public static func forward(
    timeDecay: UnsafePointer<Float>, timeFirst: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    batch: Int, length: Int, d: Int, out: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((timeDecay, timeFirst, k, v, out))
    parallelFor(d, threads: Self.threads(threads, batch: batch, length: length, d: d)) { c in
      let (timeDecay, timeFirst, k, v, out) = shared.value
      let outputs = UnsafeMutablePointer<Double>.allocate(capacity: 3 * length)
      defer { outputs.deallocate() }
      let w = Foundation.exp(Double(timeDecay[c]))
      for b in 0..<batch {
        let offset = b * length * d + c
        sequence(
          w: w, u: Double(timeFirst[c]), k: k + offset, v: v + offset, length: length, stride: d, out: outputs,
          tops: outputs + length, denominators: outputs + 2 * length)
        for t in 0..<length { out[offset + t * d] = Float(outputs[t]) }
      }
    }
  }

  /// Adds the gradients of `timeDecay`, `timeFirst`, `k` and `v` (each optional).
  ///
  /// With `g_t = ∂L/∂wkv_t` and `D_t` the denominator of `wkv_t`:
  /// - directly, `∂wkv_t/∂v_t = e^{u+k_t}/D_t` and `∂wkv_t/∂k_t = ∂wkv_t/∂u = e^{u+k_t}(v_t − wkv_t)/D_t`;
  /// - through the sums of later outputs, with `S_i = Σ_{t>i} e^{−(t−1−i)w} g_t/D_t`,
  ///   `S'_i = Σ_{t>i} e^{−(t−1−i)w} g_t wkv_t/D_t` and `P_i`, `P'_i` the same sums weighted by
  ///   `(t−1−i)`: `∂L/∂v_i += e^{k_i} S_i`, `∂L/∂k_i += e^{k_i}(v_i S_i − S'_i)`,
  ///   `∂L/∂w = −Σ_i e^{k_i}(v_i P_i − P'_i)`, and `∂L/∂timeDecay = w · ∂L/∂w`.
  ///
  /// Going back in time, `S_{i−1} = e^{−w} S_i + g_i/D_i` and `P_{i−1} = e^{−w}(P_i + S_i)`; the four
  /// sums share one scale `e^m`, `m` being their largest exponent (so `e^{m + k_i} ≤ 1`).
  public static func backward(
    timeDecay: UnsafePointer<Float>, timeFirst: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
    batch: Int, length: Int, d: Int, dOut: UnsafePointer<Float>, dTimeDecay: UnsafeMutablePointer<Float>?,
    dTimeFirst: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?,
    threads: Int
  ) {
    let shared = UncheckedSendable((timeDecay, timeFirst, k, v, dOut, dTimeDecay, dTimeFirst, dk, dv))
    parallelFor(d, threads: Self.threads(threads, batch: batch, length: length, d: d)) { c in
      let (timeDecay, timeFirst, k, v, dOut, dTimeDecay, dTimeFirst, dk, dv) = shared.value
      let outputs = UnsafeMutablePointer<Double>.allocate(capacity: 3 * length)
      defer { outputs.deallocate() }
      let (tops, denominators) = (outputs + length, outputs + 2 * length)
      let w = Foundation.exp(Double(timeDecay[c]))
      let u = Double(timeFirst[c])
      var dw = 0.0
      var du = 0.0
      for b in 0..<batch {
        let offset = b * length * d + c
        sequence(
          w: w, u: u, k: k + offset, v: v + offset, length: length, stride: d, out: outputs, tops: tops,
          denominators: denominators)
        // S, S', P, P' over t > i, as s·e^m, sy·e^m, p·e^m, py·e^m.
        var s = 0.0
        var sy = 0.0
        var p = 0.0
        var py = 0.0
        var m = -Double.infinity
        for i in stride(from: length - 1, through: 0, by: -1) {
          let index = offset + i * d
          let (ki, vi, g) = (Double(k[index]), Double(v[index]), Double(dOut[index]))
          let (y, top, denominator) = (outputs[i], tops[i], denominators[i])
          // in the forward pass this was: wkv_i = (a_i + e^{u+k_i} v_i) / D_i, D_i = e^{top}·denominator
          let direct = g * Foundation.exp(u + ki - top) / denominator
          let later = Foundation.exp(m + ki)
          dv?[index] += Float(direct + later * s)
          dk?[index] += Float(direct * (vi - y) + later * (vi * s - sy))
          du += direct * (vi - y)
          dw -= later * (vi * p - py)
          // Add output i to the sums seen by position i − 1.
          let (mNext, decay, scale) = shifted(m - w, -top)
          let fresh = g * scale / denominator
          p = decay * (p + s)
          py = decay * (py + sy)
          s = decay * s + fresh
          sy = decay * sy + fresh * y
          m = mNext
        }
      }
      dTimeDecay?[c] += Float(dw * w)
      dTimeFirst?[c] += Float(du)
    }
  }

  /// One sequence of one channel (elements `stride` apart): writes `wkv_t` to `out[t]` and its
  /// denominator `D_t` as `e^{tops[t]} · denominators[t]` (the second factor is at least 1).
  static func sequence(
    w: Double, u: Double, k: UnsafePointer<Float>, v: UnsafePointer<Float>, length: Int, stride: Int,
    out: UnsafeMutablePointer<Double>, tops: UnsafeMutablePointer<Double>, denominators: UnsafeMutablePointer<Double>
  ) {
    // a_t = p·e^o, b_t = q·e^o; nothing seen yet.
    var p = 0.0
    var q = 0.0
    var o = -Double.infinity
    for t in 0..<length {
      let (kt, vt) = (Double(k[t * stride]), Double(v[t * stride]))
      // wkv_t = (a_t + e^{u+k_t} v_t) / (b_t + e^{u+k_t}), numerator and denominator scaled by e^{−top}.
      let (top, old, now) = shifted(o, u + kt)
      let denominator = old * q + now
      out[t] = (old * p + now * vt) / denominator
      tops[t] = top
      denominators[t] = denominator
      // a_{t+1} = e^{−w} a_t + e^{k_t} v_t, b_{t+1} = e^{−w} b_t + e^{k_t}.
      let (next, decay, fresh) = shifted(o - w, kt)
      p = decay * p + fresh * vt
      q = decay * q + fresh
      o = next
    }
  }

  /// `(m, e^{x−m}, e^{y−m})` with `m = max(x, y)`: one exponential, the other factor is 1.
  @inline(__always)
  static func shifted(_ x: Double, _ y: Double) -> (Double, Double, Double) {
    x >= y ? (x, 1, Foundation.exp(y - x)) : (y, Foundation.exp(x - y), 1)
  }

  /// Threads for the shape: a step costs a handful of exponentials.
  static func threads(_ available: Int, batch: Int, length: Int, d: Int) -> Int {
    Compute.threads(available, forWork: 16 * batch * length * d)
  }
}

extension Tape {
  /// RWKV v4's WKV of `k`, `v` `[batch, length, d]` with per-channel `timeDecay` (`w = exp(timeDecay)`)
  /// and `timeFirst` (`u`), `[d]` each.
  public func wkv(timeDecay: Tensor, timeFirst: Tensor, k: Tensor, v: Tensor) -> Tensor {
    let threads = self.threads
    precondition(k.shape.count == 3 && v.shape == k.shape, "wkv: k \(k.shape), v \(v.shape)")
    let (batch, length, d) = (k.shape[0], k.shape[1], k.shape[2])
    precondition(timeDecay.count == d && timeFirst.count == d, "wkv: time_decay \(timeDecay.shape), time_first \(timeFirst.shape) for d \(d)")
    let out = Tensor(uninitialized: k.shape, requiresGrad: true)
    WKV.forward(
      timeDecay: timeDecay.value.baseAddress!, timeFirst: timeFirst.value.baseAddress!, k: k.value.baseAddress!,
      v: v.value.baseAddress!, batch: batch, length: length, d: d, out: out.value.baseAddress!, threads: threads)
    record {
      WKV.backward(
        timeDecay: timeDecay.value.baseAddress!, timeFirst: timeFirst.value.baseAddress!, k: k.value.baseAddress!,
        v: v.value.baseAddress!, batch: batch, length: length, d: d, dOut: out.grad.baseAddress!,
        dTimeDecay: timeDecay.requiresGrad ? timeDecay.grad.baseAddress! : nil,
        dTimeFirst: timeFirst.requiresGrad ? timeFirst.grad.baseAddress! : nil, dk: k.requiresGrad ? k.grad.baseAddress! : nil,
        dv: v.requiresGrad ? v.grad.baseAddress! : nil, threads: threads)
    }
    return out
  }
}
