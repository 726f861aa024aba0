import ZooSupport

/// Based's causal linear attention with the second-order Taylor feature map (Zoology's
/// `TaylorExp`): `φ(x) = [1, x/f^¼, (x⊗x)/(√2·√f)]`, so `φ(q)·φ(k) = 1 + s + s²/2` with
/// `s = q·k/√f`, and `y_i = Σ_{j≤i} (φ(q_i)·φ(k_j)) v_j / (Σ_{j≤i} φ(q_i)·φ(k_j) + ε)`.
///
/// Training uses this quadratic ("parallel") view, which never forms φ; ``recurrent`` is the
/// linear-time view with a `(1 + f + f²) × head_dim` state, used to check that both agree.
public enum TaylorLinearAttention {
  /// Zoology's epsilon in the normalizer.
  public static let epsilon: Float = 1e-12

  /// Fills `out` `[batch, length, d]`; saves the normalized weights `P` (`[batch, heads, length, length]`),
  /// the scores `s` and the normalizers `z` (`[batch, heads, length]`) for backward.
  public static func forward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, heads: Int,
    featureDim f: Int, d: Int, out: UnsafeMutablePointer<Float>, weights: UnsafeMutablePointer<Float>,
    scores: UnsafeMutablePointer<Float>, normalizers: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let ldq = heads * f
    let scale = 1 / Float(f).squareRoot()
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let qh = q + b * length * ldq + h * f
      let kh = k + b * length * ldq + h * f
      let vh = v + b * length * d + h * hd
      let index = b * heads + h
      let s = scores + index * length * length
      let p = weights + index * length * length
      let z = normalizers + index * length
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: f, alpha: scale, qh, lda: ldq, kh, ldb: ldq, beta: 0, s, ldc: length, threads: threads)
      for i in 0..<length {
        var total: Float = 0
        for j in 0...i {
          let x = s[i * length + j]
          let a = 1 + x + 0.5 * x * x
          p[i * length + j] = a
          total += a
        }
        total += epsilon
        z[i] = total
        for j in 0...i { p[i * length + j] /= total }
        for j in (i + 1)..<length { p[i * length + j] = 0 }
      }
      sgemm(transposeA: false, transposeB: false, m: length, n: hd, k: length, p, lda: length, vh, ldb: d, beta: 0, out + b * length * d + h * hd, ldc: d, threads: threads)
    }
  }

  /// Adds the gradients of `q`, `k`, `v`.
  public static func backward(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, heads: Int,
    featureDim f: Int, d: Int, weights: UnsafePointer<Float>, scores: UnsafePointer<Float>,
    normalizers: UnsafePointer<Float>, dOut: UnsafePointer<Float>, dq: UnsafeMutablePointer<Float>,
    dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let ldq = heads * f
    let scale = 1 / Float(f).squareRoot()
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
      defer { scratch.deallocate() }
      let index = b * heads + h
      let p = weights + index * length * length
      let s = scores + index * length * length
      let z = normalizers + index * length
      let dO = dOut + b * length * d + h * hd
      // dV += Pᵀ·dO ; dP = dO·Vᵀ
      sgemm(transposeA: true, transposeB: false, m: length, n: hd, k: length, p, lda: length, dO, ldb: d, beta: 1, dv + b * length * d + h * hd, ldc: d, threads: threads)
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: hd, dO, lda: d, v + b * length * d + h * hd, ldb: d, beta: 0, scratch, ldc: length, threads: threads)
      // dA = (dP − Σ_j P·dP) / z ; ds = dA·(1 + s) · scale
      for i in 0..<length {
        var dot: Float = 0
        for j in 0...i { dot += p[i * length + j] * scratch[i * length + j] }
        for j in 0...i {
          let dA = (scratch[i * length + j] - dot) / z[i]
          scratch[i * length + j] = dA * (1 + s[i * length + j]) * scale
        }
        for j in (i + 1)..<length { scratch[i * length + j] = 0 }
      }
      sgemm(transposeA: false, transposeB: false, m: length, n: f, k: length, scratch, lda: length, k + b * length * ldq + h * f, ldb: ldq, beta: 1, dq + b * length * ldq + h * f, ldc: ldq, threads: threads)
      sgemm(transposeA: true, transposeB: false, m: length, n: f, k: length, scratch, lda: length, q + b * length * ldq + h * f, ldb: ldq, beta: 1, dk + b * length * ldq + h * f, ldc: ldq, threads: threads)
    }
  }

  /// The Taylor feature map of one vector: `[1, x/f^¼, (x⊗x)/(√2·√f)]`, `1 + f + f²` values.
  public static func featureMap(_ x: UnsafePointer<Float>, f: Int) -> [Float] {
    var out: [Float] = [1]
    let r = Float(f).squareRoot().squareRoot()
    for a in 0..<f { out.append(x[a] / r) }
    let r2 = Float(2).squareRoot() * Float(f).squareRoot()
    for a in 0..<f { for c in 0..<f { out.append(x[a] * x[c] / r2) } }
    return out
  }

  /// The recurrent (linear-time) view: a running state `Σ φ(k_j) v_jᵀ` and `Σ φ(k_j)` per head.
  public static func recurrent(
    q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, batch: Int, length: Int, heads: Int,
    featureDim f: Int, d: Int, out: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let ldq = heads * f
    let dimension = 1 + f + f * f
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      var state = [Double](repeating: 0, count: dimension * hd)
      var normalizer = [Double](repeating: 0, count: dimension)
      for t in 0..<length {
        let phiK = featureMap(k + (b * length + t) * ldq + h * f, f: f)
        let vt = v + (b * length + t) * d + h * hd
        for a in 0..<dimension {
          normalizer[a] += Double(phiK[a])
          for e in 0..<hd { state[a * hd + e] += Double(phiK[a]) * Double(vt[e]) }
        }
        let phiQ = featureMap(q + (b * length + t) * ldq + h * f, f: f)
        var denominator = Double(epsilon)
        for a in 0..<dimension { denominator += Double(phiQ[a]) * normalizer[a] }
        for e in 0..<hd {
          var numerator = 0.0
          for a in 0..<dimension { numerator += Double(phiQ[a]) * state[a * hd + e] }
          out[(b * length + t) * d + h * hd + e] = Float(numerator / denominator)
        }
      }
    }
  }
}

extension Tape {
  /// Based linear attention of `q`, `k` (`[batch, length, heads·f]`) and `v` (`[batch, length, d]`).
  public func taylorLinearAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, featureDim f: Int) -> Tensor {
    let threads = self.threads
    let (batch, length, d) = (v.shape[0], v.shape[1], v.shape[2])
    precondition(q.shape == [batch, length, heads * f] && k.shape == q.shape && d % heads == 0, "linear attention: q \(q.shape) k \(k.shape) v \(v.shape)")
    let out = Tensor(zeros: v.shape, requiresGrad: true)
    let weights = Tensor(zeros: [batch, heads, length, length])
    let scores = Tensor(zeros: [batch, heads, length, length])
    let normalizers = Tensor(zeros: [batch, heads, length])
    TaylorLinearAttention.forward(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, heads: heads,
      featureDim: f, d: d, out: out.value.baseAddress!, weights: weights.value.baseAddress!,
      scores: scores.value.baseAddress!, normalizers: normalizers.value.baseAddress!, threads: threads)
    record {
      TaylorLinearAttention.backward(
        q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length,
        heads: heads, featureDim: f, d: d, weights: weights.value.baseAddress!, scores: scores.value.baseAddress!,
        normalizers: normalizers.value.baseAddress!, dOut: out.grad.baseAddress!, dq: q.grad.baseAddress!,
        dk: k.grad.baseAddress!, dv: v.grad.baseAddress!, threads: threads)
    }
    return out
  }
}
