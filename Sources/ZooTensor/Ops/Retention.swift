import Foundation
import ZooSupport

/// RetNet's retention in its parallel form, per head `h` with decay `γ_h` (docs/MODELS.md, "RetNet"):
///
///     D_nm = γ^(n−m) / √(Σ_{i≤n} γ^(n−i))   for m ≤ n, else 0
///     R    = (Q·Kᵀ / √head_dim) ⊙ D
///     P_nm = R_nm / max(|Σ_m R_nm|, 1)
///     out  = P · V
///
/// (the paper's normalizations; torchscale divides by `Σ_m |R_nm|` instead, detached from the
/// gradient, which has no recurrent form: this uses the paper's `|Σ_m R_nm|` with its exact
/// gradient). Forward saves `P` (`batch · heads · length²` floats) and the row sums `Σ_m R_nm`.
///
/// ``recurrent`` is the linear-time view with the state `S_n = γ·S_{n−1} + k_nᵀ·v_n` per head,
/// used to check that both agree.
public enum Retention {
  /// `γ^j` for `j < length` and `1/√(Σ_{i≤n} γ^i)` for `n < length`.
  static func decay(_ gamma: Double, length: Int) -> (powers: [Double], rowScales: [Double]) {
    var powers = [Double](repeating: 1, count: length)
    var rowScales = [Double](repeating: 1, count: length)
    var total = 0.0
    for n in 0..<length {
      if n > 0 { powers[n] = powers[n - 1] * gamma }
      total += powers[n]
      rowScales[n] = 1 / total.squareRoot()
    }
    return (powers, rowScales)
  }

  /// Fills `out` (`[batch, length, d]`) from `q`, `k`, `v` (`[batch, length, d]`, `heads` heads),
  /// and saves `weights` (`P`, `[batch, heads, length, length]`) and `sums` (`Σ_m R_nm`,
  /// `[batch, heads, length]`).
  public static func forward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, d: Int,
    heads: Int, gammas: [Double], out: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
    sums: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let decays = gammas.map { decay($0, length: length) }
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let offset = b * length * d + h * hd
      let p = weights + item * length * length
      let r = sums + item * length
      let (powers, rowScales) = decays[h]
      // Q·Kᵀ/√hd: only m ≤ n is used; the upper triangle is overwritten with zeros.
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: hd, alpha: scale, q + offset, lda: d, k + offset, ldb: d, beta: 0, p, ldc: length, threads: threads)
      for n in 0..<length {
        let row = p + n * length
        var total = 0.0
        for m in 0...n {
          row[m] *= Float(powers[n - m] * rowScales[n])
          total += Double(row[m])
        }
        r[n] = Float(total)
        let inverse = 1 / max(abs(r[n]), 1)
        for m in 0...n { row[m] *= inverse }
        for m in (n + 1)..<length { row[m] = 0 }
      }
      sgemm(transposeA: false, transposeB: false, m: length, n: hd, k: length, p, lda: length, v + offset, ldb: d, beta: 0, out + offset, ldc: d, threads: threads)
    }
  }

  /// Adds the gradients of `q`, `k`, `v`, given `dOut`.
  public static func backward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, d: Int,
    heads: Int, gammas: [Double], weights: UnsafePointer<Float>, sums: UnsafePointer<Float>,
    dOut: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
    dv: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let decays = gammas.map { decay($0, length: length) }
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
      defer { scratch.deallocate() }
      let offset = b * length * d + h * hd
      let p = weights + item * length * length
      let r = sums + item * length
      let (powers, rowScales) = decays[h]
      // dV += Pᵀ·dO ; dP = dO·Vᵀ
      sgemm(transposeA: true, transposeB: false, m: length, n: hd, k: length, p, lda: length, dOut + offset, ldb: d, beta: 1, dv + offset, ldc: d, threads: threads)
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: hd, dOut + offset, lda: d, v + offset, ldb: d, beta: 0, scratch, ldc: length, threads: threads)
      for n in 0..<length {
        let row = scratch + n * length
        let pr = p + n * length
        // in the forward pass this was:
        // P_nm = R_nm / a_n, a_n = max(|r_n|, 1), r_n = Σ_m R_nm
        // so now we have (∂a_n/∂R_nm = sign(r_n) where |r_n| > 1, else 0):
        // dR_nm = (dP_nm − sign(r_n)·Σ_m' P_nm'·dP_nm') / a_n
        var shift: Float = 0
        if abs(r[n]) > 1 {
          var dot = 0.0
          for m in 0...n { dot += Double(pr[m]) * Double(row[m]) }
          shift = r[n] > 0 ? Float(dot) : -Float(dot)
        }
        let inverse = 1 / max(abs(r[n]), 1)
        // R_nm = S_nm·D_nm, so dS_nm = dR_nm·D_nm (causal part only).
        for m in 0...n { row[m] = (row[m] - shift) * inverse * Float(powers[n - m] * rowScales[n]) }
        for m in (n + 1)..<length { row[m] = 0 }
      }
      // S = Q·Kᵀ/√hd: dQ += dS·K/√hd ; dK += dSᵀ·Q/√hd
      sgemm(transposeA: false, transposeB: false, m: length, n: hd, k: length, alpha: scale, scratch, lda: length, k + offset, ldb: d, beta: 1, dq + offset, ldc: d, threads: threads)
      sgemm(transposeA: true, transposeB: false, m: length, n: hd, k: length, alpha: scale, scratch, lda: length, q + offset, ldb: d, beta: 1, dk + offset, ldc: d, threads: threads)
    }
  }

  /// The recurrent (linear-time) view, in Double: per head `S_n = γ·S_{n−1} + k_nᵀ·v_n`
  /// (`head_dim × head_dim`), `c_n = γ·c_{n−1} + 1`, and, for the `|Σ_m R_nm|` normalizer only,
  /// `z_n = γ·z_{n−1} + k_n`; then `o_n = q_n·S_n / (√hd·√c_n·max(|q_n·z_n| / (√hd·√c_n), 1))`.
  public static func recurrent(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, d: Int,
    heads: Int, gammas: [Double], out: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let gamma = gammas[h]
      var state = [Double](repeating: 0, count: hd * hd)
      var keys = [Double](repeating: 0, count: hd)
      var count = 0.0
      for n in 0..<length {
        let row = (b * length + n) * d + h * hd
        count = gamma * count + 1
        for i in 0..<hd {
          keys[i] = gamma * keys[i] + Double(k[row + i])
          for j in 0..<hd { state[i * hd + j] = gamma * state[i * hd + j] + Double(k[row + i]) * Double(v[row + j]) }
        }
        let factor = 1 / (Double(hd).squareRoot() * count.squareRoot())
        var sum = 0.0
        for i in 0..<hd { sum += Double(q[row + i]) * keys[i] }
        let denominator = max(abs(sum * factor), 1)
        for j in 0..<hd {
          var numerator = 0.0
          for i in 0..<hd { numerator += Double(q[row + i]) * state[i * hd + j] }
          out[row + j] = Float(numerator * factor / denominator)
        }
      }
    }
  }
}

extension Tape {
  /// Multi-scale retention of `q`, `k`, `v` (`[batch, length, d]`), one decay per head.
  public func retention(q: Tensor, k: Tensor, v: Tensor, heads: Int, gammas: [Double]) -> Tensor {
    let threads = self.threads
    let (batch, length, d) = (v.shape[0], v.shape[1], v.shape[2])
    precondition(
      v.shape.count == 3 && q.shape == v.shape && k.shape == v.shape && d % heads == 0 && gammas.count == heads,
      "retention: q \(q.shape) k \(k.shape) v \(v.shape), \(heads) heads, \(gammas.count) decays")
    let out = Tensor(uninitialized: v.shape, requiresGrad: true)
    let weights = Tensor(uninitialized: [batch, heads, length, length])
    let sums = Tensor(uninitialized: [batch, heads, length])
    Retention.forward(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, d: d,
      heads: heads, gammas: gammas, out: out.value.baseAddress!, weights: weights.value.baseAddress!,
      sums: sums.value.baseAddress!, threads: threads)
    record {
      Retention.backward(
        q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, d: d,
        heads: heads, gammas: gammas, weights: weights.value.baseAddress!, sums: sums.value.baseAddress!,
        dOut: out.grad.baseAddress!, dq: q.grad.baseAddress!, dk: k.grad.baseAddress!, dv: v.grad.baseAddress!, threads: threads)
    }
    return out
  }
}
