import ZooSupport

/// Root-mean-square normalization with a weight (fla's `RMSNorm`, Mamba-2's gated norm after its
/// gate): each group of `n = weight.count` consecutive values of the last dimension becomes
/// `y = x · r ⊙ w` with `r = 1/√(mean(x²) + eps)`. With `n` the whole width it normalizes rows;
/// with `n` a head's width, each head (GLA's norm of its heads' outputs, one weight for all heads).
/// Forward saves each group's `r`.
///
/// Backward, with `x̂ = x·r` and `dx̂ = dy ⊙ w`: `dx = r·(dx̂ − x̂·mean(dx̂ ⊙ x̂))`, `dw = Σ dy ⊙ x̂`.
public enum RMSNorm {
  /// Normalizes `groups` groups of `width` values.
  public static func forward(
    _ x: UnsafePointer<Float>, groups: Int, width: Int, weight: UnsafePointer<Float>, eps: Float,
    into y: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((x, y, rstd, weight))
    parallelFor(groups, threads: Compute.threads(threads, forWork: groups * width)) { group in
      let (x, y, rstd, weight) = shared.value
      let (row, out) = (x + group * width, y + group * width)
      var squares: Float = 0
      for i in 0..<width { squares += row[i] * row[i] }
      let r = 1 / (squares / Float(width) + eps).squareRoot()
      for i in 0..<width { out[i] = row[i] * r * weight[i] }
      rstd[group] = r
    }
  }

  /// Adds the gradients of `x` and the weight (each when given).
  public static func backward(
    _ x: UnsafePointer<Float>, groups: Int, width: Int, weight: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    if let dx {
      let shared = UncheckedSendable((x, dx, dy, rstd, weight))
      parallelFor(groups, threads: Compute.threads(threads, forWork: groups * width)) { group in
        let (x, dx, dy, rstd, weight) = shared.value
        let (row, g, out) = (x + group * width, dy + group * width, dx + group * width)
        let r = rstd[group]
        var mean: Float = 0
        for i in 0..<width { mean += g[i] * weight[i] * row[i] * r }
        mean /= Float(width)
        for i in 0..<width { out[i] += r * (g[i] * weight[i] - row[i] * r * mean) }
      }
    }
    // The weight's gradient sums over groups in order: the same for any thread count.
    if let dWeight {
      for group in 0..<groups {
        let (row, g, r) = (x + group * width, dy + group * width, rstd[group])
        for i in 0..<width { dWeight[i] += g[i] * row[i] * r }
      }
    }
  }
}

extension Tape {
  /// RMS norm of each group of `weight.count` values of the last dimension of `x` (which it divides).
  public func rmsNorm(_ x: Tensor, weight: Tensor, eps: Float = 1e-5) -> Tensor {
    let threads = self.threads
    let width = weight.count
    precondition(width > 0 && x.lastDimension % width == 0, "rms norm: weight \(weight.shape) for \(x.shape)")
    let groups = x.count / width
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    let rstd = Tensor(uninitialized: [groups])
    RMSNorm.forward(
      x.value.baseAddress!, groups: groups, width: width, weight: weight.value.baseAddress!, eps: eps,
      into: y.value.baseAddress!, rstd: rstd.value.baseAddress!, threads: threads)
    record {
      RMSNorm.backward(
        x.value.baseAddress!, groups: groups, width: width, weight: weight.value.baseAddress!, rstd: rstd.value.baseAddress!,
        dy: y.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil, threads: threads)
    }
    return y
  }
}
