import ZooSupport

/// Multi-head causal softmax attention over packed `qkv` (`[batch, length, 3·d]`, as Zoology's
/// `MHA` produces with one `Wqkv` projection): `softmax(Q·Kᵀ/√hd + causal mask) · V` per head.
/// Forward saves the attention probabilities (`batch · heads · length²` floats) for backward.
/// With `dropout`, the probabilities are multiplied by a keep-mask scaled by 1/(1 − p) before
/// they weight the values (Zoology's attention dropout); the mask is saved for backward.
public enum CausalSelfAttention {
  /// Fills `out` (`[batch, length, d]`) and `probabilities` (`[batch, heads, length, length]`).
  public static func forward(
    qkv: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int,
    dropout: (p: Float, seed: UInt64, mask: UnsafeMutablePointer<Float>, dropped: UnsafeMutablePointer<Float>)? = nil,
    out: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let ld = 3 * d
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let (q, k, v) = packedHead(qkv, b: b, h: h, length: length, d: d, headDim: hd)
      let p = probabilities + (b * heads + h) * length * length
      // Scores: only j <= i are used; the upper triangle is overwritten by the softmax.
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: hd, alpha: scale, q, lda: ld, k, ldb: ld, beta: 0, p, ldc: length, threads: threads)
      for i in 0..<length {
        let row = p + i * length
        let m = FastMath.max(row, count: i + 1)
        let inv = 1 / FastMath.expShifted(row, count: i + 1, shift: m)
        for j in 0...i { row[j] *= inv }
        for j in (i + 1)..<length { row[j] = 0 }
      }
      var weights = UnsafePointer(p)
      if let dropout {
        var stream = AttentionDropoutStream(p: dropout.p, seed: dropout.seed, item: item)
        let mask = dropout.mask + item * length * length
        let dropped = dropout.dropped + item * length * length
        // Only the causal part carries probability; the rest stays zero.
        for i in 0..<length {
          for j in 0..<length {
            let e = i * length + j
            guard j <= i else {
              mask[e] = 0
              dropped[e] = 0
              continue
            }
            mask[e] = stream.next()
            dropped[e] = p[e] * mask[e]
          }
        }
        weights = UnsafePointer(dropped)
      }
      sgemm(
        transposeA: false, transposeB: false, m: length, n: hd, k: length, weights, lda: length, v, ldb: ld, beta: 0,
        out + b * length * d + h * hd, ldc: d, threads: threads)
    }
  }

  /// Adds the gradient of `qkv` into `dqkv`, given `dOut`.
  public static func backward(
    qkv: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, probabilities: UnsafePointer<Float>,
    dropout: (mask: UnsafePointer<Float>, dropped: UnsafePointer<Float>)? = nil, dOut: UnsafePointer<Float>,
    dqkv: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let ld = 3 * d
    // One (batch, head) item per task; inside an item everything runs on its thread.
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: length * length)
      defer { scratch.deallocate() }
      let (q, k, v) = packedHead(qkv, b: b, h: h, length: length, d: d, headDim: hd)
      let (dq, dk, dv) = packedHead(dqkv, b: b, h: h, length: length, d: d, headDim: hd)
      let p = probabilities + (b * heads + h) * length * length
      let dO = dOut + b * length * d + h * hd
      // dV += P̃ᵀ · dO ; dP = (dO · Vᵀ) ⊙ mask, where P̃ = P ⊙ mask (P̃ = P without dropout)
      let weights = dropout.map { $0.dropped + item * length * length } ?? p
      sgemm(transposeA: true, transposeB: false, m: length, n: hd, k: length, weights, lda: length, dO, ldb: d, beta: 1, dv, ldc: ld, threads: threads)
      sgemm(transposeA: false, transposeB: true, m: length, n: length, k: hd, dO, lda: d, v, ldb: ld, beta: 0, scratch, ldc: length, threads: threads)
      if let dropout {
        let mask = dropout.mask + item * length * length
        for e in 0..<(length * length) { scratch[e] *= mask[e] }
      }
      // dS = P ⊙ (dP − Σ_j P·dP) · scale, causal part only.
      for i in 0..<length {
        let pr = p + i * length
        let row = scratch + i * length
        var dot: Float = 0
        for j in 0...i { dot += pr[j] * row[j] }
        for j in 0...i { row[j] = pr[j] * (row[j] - dot) * scale }
        for j in (i + 1)..<length { row[j] = 0 }
      }
      // dQ += dS · K ; dK += dSᵀ · Q
      sgemm(transposeA: false, transposeB: false, m: length, n: hd, k: length, scratch, lda: length, k, ldb: ld, beta: 1, dq, ldc: ld, threads: threads)
      sgemm(transposeA: true, transposeB: false, m: length, n: hd, k: length, scratch, lda: length, q, ldb: ld, beta: 1, dk, ldc: ld, threads: threads)
    }
  }
}

extension Tape {
  /// Causal multi-head attention of packed `qkv` `[batch, length, 3·d]`; returns `[batch, length, d]`.
  public func causalSelfAttention(_ qkv: Tensor, heads: Int, dropout: Float = 0) -> Tensor {
    let threads = self.threads
    let (batch, length) = (qkv.shape[0], qkv.shape[1])
    let d = qkv.shape[2] / 3
    precondition(qkv.shape[2] == 3 * d && d % heads == 0, "attention: qkv \(qkv.shape) with \(heads) heads")
    let out = Tensor(uninitialized: [batch, length, d], requiresGrad: true)
    let probabilities = Tensor(uninitialized: [batch, heads, length, length])
    let seed = dropout > 0 ? nextDropoutSeed() : nil
    let mask = seed.map { _ in Tensor(uninitialized: probabilities.shape) }
    let dropped = seed.map { _ in Tensor(uninitialized: probabilities.shape) }
    CausalSelfAttention.forward(
      qkv: qkv.value.baseAddress!, batch: batch, length: length, d: d, heads: heads,
      dropout: seed.map { (dropout, $0, mask!.value.baseAddress!, dropped!.value.baseAddress!) },
      out: out.value.baseAddress!, probabilities: probabilities.value.baseAddress!, threads: threads)
    record {
      guard qkv.requiresGrad else { return }
      CausalSelfAttention.backward(
        qkv: qkv.value.baseAddress!, batch: batch, length: length, d: d, heads: heads,
        probabilities: probabilities.value.baseAddress!,
        dropout: seed.map { _ in (UnsafePointer(mask!.value.baseAddress!), UnsafePointer(dropped!.value.baseAddress!)) },
        dOut: out.grad.baseAddress!, dqkv: qkv.grad.baseAddress!, threads: threads)
    }
    return out
  }
}
