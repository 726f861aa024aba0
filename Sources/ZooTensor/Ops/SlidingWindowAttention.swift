import ZooSupport

/// Causal sliding-window softmax attention over packed `qkv` (`[batch, length, 3·d]`): position
/// i attends to positions i−w+1 … i only. Work and memory are O(length · w), not O(length²):
/// queries go in blocks of `blockRows` rows, each against the keys its window reaches, and the
/// probabilities are kept as a band, `[batch, heads, length, w]`, where entry (i, c) belongs to
/// key i−w+1+c (zero where that is before the start). With `dropout`, as in `CausalSelfAttention`,
/// the probabilities are multiplied by a keep-mask scaled by 1/(1 − p); the mask is kept in the
/// same band layout.
public enum SlidingWindowAttention {
  /// Query rows per block: one block's scores are `blockRows × (blockRows + w − 1)` floats.
  public static let defaultBlockRows = 64

  /// The keys a block of queries `rows` reaches: `first ..< rows.upperBound`.
  static func keyRange(of rows: Range<Int>, window: Int) -> Range<Int> { max(0, rows.lowerBound - window + 1)..<rows.upperBound }

  /// The first band slot of row `i` that holds a key; the slots before it fall before position 0.
  static func firstSlot(row i: Int, window: Int) -> Int { max(0, window - 1 - i) }

  /// Fills `out` (`[batch, length, d]`), `probabilities` and, with dropout, `mask`
  /// (both `[batch, heads, length, window]`).
  public static func forward(
    qkv: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, window: Int,
    blockRows: Int = defaultBlockRows,
    dropout: (p: Float, seed: UInt64, mask: UnsafeMutablePointer<Float>)? = nil,
    out: UnsafeMutablePointer<Float>, probabilities: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let ld = 3 * d
    let rowsPerBlock = max(1, min(blockRows, length))
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let (q, k, v) = packedHead(qkv, b: b, h: h, length: length, d: d, headDim: hd)
      let band = probabilities + item * length * window
      let scores = UnsafeMutablePointer<Float>.allocate(capacity: rowsPerBlock * (rowsPerBlock + window - 1))
      defer { scores.deallocate() }
      // Drawn row by row over the visible keys: the same mask for any block size.
      var stream = dropout.map { AttentionDropoutStream(p: $0.p, seed: $0.seed, item: item) }
      for start in stride(from: 0, to: length, by: rowsPerBlock) {
        let rows = start..<min(length, start + rowsPerBlock)
        let keys = keyRange(of: rows, window: window)
        let width = keys.count
        sgemm(
          transposeA: false, transposeB: true, m: rows.count, n: width, k: hd, alpha: scale, q + start * ld, lda: ld,
          k + keys.lowerBound * ld, ldb: ld, beta: 0, scores, ldc: width, threads: threads)
        for i in rows {
          let row = scores + (i - start) * width
          let first = max(0, i - window + 1)
          let visible = row + (first - keys.lowerBound)
          let count = i + 1 - first
          let m = FastMath.max(visible, count: count)
          let inv = 1 / FastMath.expShifted(visible, count: count, shift: m)
          for j in 0..<width where j < first - keys.lowerBound || j > i - keys.lowerBound { row[j] = 0 }
          for c in 0..<count { visible[c] *= inv }
          // Band row: slot c holds key i − w + 1 + c; slots before key 0 stay zero.
          let bandRow = band + i * window
          let offset = firstSlot(row: i, window: window)
          for c in 0..<offset { bandRow[c] = 0 }
          for c in 0..<count { bandRow[offset + c] = visible[c] }
          if let dropout {
            let maskRow = dropout.mask + item * length * window + i * window
            for c in 0..<offset { maskRow[c] = 0 }
            for c in 0..<count {
              maskRow[offset + c] = stream!.next()
              visible[c] *= maskRow[offset + c]
            }
          }
        }
        sgemm(
          transposeA: false, transposeB: false, m: rows.count, n: hd, k: width, scores, lda: width,
          v + keys.lowerBound * ld, ldb: ld, beta: 0, out + b * length * d + start * d + h * hd, ldc: d, threads: threads)
      }
    }
  }

  /// Adds the gradient of `qkv` into `dqkv`, given `dOut`.
  public static func backward(
    qkv: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, window: Int,
    blockRows: Int = defaultBlockRows, probabilities: UnsafePointer<Float>, mask: UnsafePointer<Float>?,
    dOut: UnsafePointer<Float>, dqkv: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let hd = d / heads
    let scale = 1 / Float(hd).squareRoot()
    let ld = 3 * d
    let rowsPerBlock = max(1, min(blockRows, length))
    parallelForHeads(batch: batch, heads: heads, threads: threads) { item, b, h in
      let capacity = rowsPerBlock * (rowsPerBlock + window - 1)
      let p = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
      let weights = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
      let grad = UnsafeMutablePointer<Float>.allocate(capacity: capacity)
      defer {
        p.deallocate()
        weights.deallocate()
        grad.deallocate()
      }
      let (q, k, v) = packedHead(qkv, b: b, h: h, length: length, d: d, headDim: hd)
      let (dq, dk, dv) = packedHead(dqkv, b: b, h: h, length: length, d: d, headDim: hd)
      let dO = dOut + b * length * d + h * hd
      let band = probabilities + item * length * window
      let maskBand = mask.map { $0 + item * length * window }
      for start in stride(from: 0, to: length, by: rowsPerBlock) {
        let rows = start..<min(length, start + rowsPerBlock)
        let keys = keyRange(of: rows, window: window)
        let width = keys.count
        // Unpack the band into the block: P, and P̃ = P ⊙ mask (P̃ = P without dropout).
        // Band slot c of row i is block column base + c.
        for i in rows {
          let r = (i - start) * width
          let base = r + i - window + 1 - keys.lowerBound
          let slots = firstSlot(row: i, window: window)..<window
          for j in 0..<width { p[r + j] = 0 }
          for c in slots { p[base + c] = band[i * window + c] }
          for j in 0..<width { weights[r + j] = p[r + j] }
          if let maskBand {
            for c in slots { weights[base + c] *= maskBand[i * window + c] }
          }
        }
        // dV += P̃ᵀ · dO ; dP = dO · Vᵀ
        sgemm(
          transposeA: true, transposeB: false, m: width, n: hd, k: rows.count, weights, lda: width,
          dO + start * d, ldb: d, beta: 1, dv + keys.lowerBound * ld, ldc: ld, threads: threads)
        sgemm(
          transposeA: false, transposeB: true, m: rows.count, n: width, k: hd, dO + start * d, lda: d,
          v + keys.lowerBound * ld, ldb: ld, beta: 0, grad, ldc: width, threads: threads)
        // dP ⊙= mask, then dS = P ⊙ (dP − Σ_j P·dP) · scale; entries outside the window have P = 0.
        for i in rows {
          let r = (i - start) * width
          if let maskBand {
            let base = r + i - window + 1 - keys.lowerBound
            for c in firstSlot(row: i, window: window)..<window { grad[base + c] *= maskBand[i * window + c] }
          }
          var dot: Float = 0
          for j in 0..<width { dot += p[r + j] * grad[r + j] }
          for j in 0..<width { grad[r + j] = p[r + j] * (grad[r + j] - dot) * scale }
        }
        // dQ += dS · K ; dK += dSᵀ · Q
        sgemm(
          transposeA: false, transposeB: false, m: rows.count, n: hd, k: width, grad, lda: width,
          k + keys.lowerBound * ld, ldb: ld, beta: 1, dq + start * ld, ldc: ld, threads: threads)
        sgemm(
          transposeA: true, transposeB: false, m: width, n: hd, k: rows.count, grad, lda: width,
          q + start * ld, ldb: ld, beta: 1, dk + keys.lowerBound * ld, ldc: ld, threads: threads)
      }
    }
  }
}

extension Tape {
  /// Causal sliding-window attention of packed `qkv` `[batch, length, 3·d]`, each position seeing
  /// the last `window` positions, itself included; returns `[batch, length, d]`.
  public func slidingWindowAttention(
    _ qkv: Tensor, heads: Int, window: Int, dropout: Float = 0,
    blockRows: Int = SlidingWindowAttention.defaultBlockRows
  ) -> Tensor {
    let threads = self.threads
    let (batch, length) = (qkv.shape[0], qkv.shape[1])
    let d = qkv.shape[2] / 3
    precondition(qkv.shape[2] == 3 * d && d % heads == 0, "attention: qkv \(qkv.shape) with \(heads) heads")
    precondition(window >= 1, "sliding-window attention: window \(window)")
    let window = min(window, length)  // a window past the start is full causal attention
    let out = Tensor(uninitialized: [batch, length, d], requiresGrad: true)
    let probabilities = Tensor(uninitialized: [batch, heads, length, window])
    let seed = dropout > 0 ? nextDropoutSeed() : nil
    let mask = seed.map { _ in Tensor(uninitialized: probabilities.shape) }
    SlidingWindowAttention.forward(
      qkv: qkv.value.baseAddress!, batch: batch, length: length, d: d, heads: heads, window: window,
      blockRows: blockRows, dropout: seed.map { (dropout, $0, mask!.value.baseAddress!) },
      out: out.value.baseAddress!, probabilities: probabilities.value.baseAddress!, threads: threads)
    record {
      guard qkv.requiresGrad else { return }
      SlidingWindowAttention.backward(
        qkv: qkv.value.baseAddress!, batch: batch, length: length, d: d, heads: heads, window: window,
        blockRows: blockRows, probabilities: probabilities.value.baseAddress!,
        mask: mask.map { UnsafePointer($0.value.baseAddress!) }, dOut: out.grad.baseAddress!,
        dqkv: qkv.grad.baseAddress!, threads: threads)
    }
    return out
  }
}
