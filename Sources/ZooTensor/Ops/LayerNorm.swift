import ZooSupport

/// Layer normalization over the last dimension with weight and bias (PyTorch `nn.LayerNorm`,
/// biased variance, `eps` inside the square root). Forward saves each row's mean and 1/std.
public enum LayerNorm {
  /// Normalizes `rows` rows of `width` values.
  public static func forward(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
    eps: Float, into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
    rstd: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((x, y, mean, rstd, weight, bias))
    parallelFor(rows, threads: Compute.threads(threads, forWork: rows * width)) { r in
      let (x, y, mean, rstd, weight, bias) = shared.value
      let row = x + r * width
      var m: Float = 0
      for i in 0..<width { m += row[i] }
      m /= Float(width)
      var v: Float = 0
      for i in 0..<width {
        let d = row[i] - m
        v += d * d
      }
      v /= Float(width)
      let s = 1 / (v + eps).squareRoot()
      let out = y + r * width
      for i in 0..<width { out[i] = (row[i] - m) * s * weight[i] + bias[i] }
      mean[r] = m
      rstd[r] = s
    }
  }

  /// Adds the gradients of `x`, weight and bias (each when given).
  public static func backward(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, weight: UnsafePointer<Float>, mean: UnsafePointer<Float>,
    rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    if let dx {
      let shared = UncheckedSendable((x, dx, dy, mean, rstd, weight))
      parallelFor(rows, threads: Compute.threads(threads, forWork: rows * width)) { r in
        let (x, dx, dy, mean, rstd, weight) = shared.value
        let row = x + r * width
        let g = dy + r * width
        let m = mean[r]
        let s = rstd[r]
        var meanDNorm: Float = 0
        var meanDNormNorm: Float = 0
        for i in 0..<width {
          let dnorm = g[i] * weight[i]
          meanDNorm += dnorm
          meanDNormNorm += dnorm * (row[i] - m) * s
        }
        meanDNorm /= Float(width)
        meanDNormNorm /= Float(width)
        let out = dx + r * width
        for i in 0..<width {
          let norm = (row[i] - m) * s
          out[i] += (g[i] * weight[i] - meanDNorm - norm * meanDNormNorm) * s
        }
      }
    }
    // Parameter gradients sum over rows in row order: the same for any thread count.
    if dWeight != nil || dBias != nil {
      for r in 0..<rows {
        let row = x + r * width
        let g = dy + r * width
        let m = mean[r]
        let s = rstd[r]
        if let dWeight { for i in 0..<width { dWeight[i] += g[i] * (row[i] - m) * s } }
        if let dBias { for i in 0..<width { dBias[i] += g[i] } }
      }
    }
  }
}

extension Tape {
  /// Layer norm over the last dimension of `x`.
  public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
    let threads = self.threads
    let width = x.lastDimension
    let rows = x.rows
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    let stats = Tensor(uninitialized: [2, rows])
    let mean = stats.value.baseAddress!
    let rstd = mean + rows
    LayerNorm.forward(
      x.value.baseAddress!, rows: rows, width: width, weight: weight.value.baseAddress!, bias: bias.value.baseAddress!,
      eps: eps, into: y.value.baseAddress!, mean: mean, rstd: rstd, threads: threads)
    record {
      LayerNorm.backward(
        x.value.baseAddress!, rows: rows, width: width, weight: weight.value.baseAddress!, mean: stats.value.baseAddress!,
        rstd: stats.value.baseAddress! + rows, dy: y.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil, dBias: bias.requiresGrad ? bias.grad.baseAddress! : nil, threads: threads)
    }
    return y
  }
}
