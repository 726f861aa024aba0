/// Affine map over the last dimension: `y = x · Wᵀ + b`, with `W` stored `[out, in]` as in
/// PyTorch's `nn.Linear`. Forward is one GEMM over all rows; backward two GEMMs and a row sum.
public enum Linear {
  /// `y[r, :] = W · x[r, :] + b`.
  public static func forward(
    _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
    outFeatures: Int, into y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    if let bias {
      for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
    }
    sgemm(
      transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures, x, lda: inFeatures, weight,
      ldb: inFeatures, beta: bias == nil ? 0 : 1, y, ldc: outFeatures, threads: threads)
  }

  /// Adds `dy · W` into `dx`, `dyᵀ · x` into `dW` and `Σ_r dy[r]` into `db` (each when given).
  public static func backward(
    _ x: UnsafePointer<Float>, rows: Int, inFeatures: Int, weight: UnsafePointer<Float>, outFeatures: Int,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
    dBias: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    if let dx {
      sgemm(
        transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures, dy, lda: outFeatures, weight,
        ldb: inFeatures, beta: 1, dx, ldc: inFeatures, threads: threads)
    }
    if let dWeight {
      sgemm(
        transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows, dy, lda: outFeatures, x,
        ldb: inFeatures, beta: 1, dWeight, ldc: inFeatures, threads: threads)
    }
    if let dBias {
      // Column sums in a fixed order (independent of threads).
      for r in 0..<rows {
        let row = dy + r * outFeatures
        for j in 0..<outFeatures { dBias[j] += row[j] }
      }
    }
  }
}

extension Tape {
  /// `x · Wᵀ + b` over the last dimension of `x`.
  public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let threads = self.threads
    let inFeatures = x.lastDimension
    let outFeatures = weight.shape[0]
    precondition(weight.shape == [outFeatures, inFeatures], "linear: weight \(weight.shape) for input \(x.shape)")
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures], requiresGrad: true)
    Linear.forward(
      x.value.baseAddress!, rows: x.rows, inFeatures: inFeatures, weight: weight.value.baseAddress!,
      bias: bias?.value.baseAddress, outFeatures: outFeatures, into: y.value.baseAddress!, threads: threads)
    record {
      Linear.backward(
        x.value.baseAddress!, rows: x.rows, inFeatures: inFeatures, weight: weight.value.baseAddress!,
        outFeatures: outFeatures, dy: y.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil,
        dBias: bias.flatMap { $0.requiresGrad ? $0.grad.baseAddress! : nil }, threads: threads)
    }
    return y
  }
}
