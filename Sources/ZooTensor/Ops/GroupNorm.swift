import ZooSupport

/// Group normalization of each position (RetNet's per-head normalization): the last dimension's
/// `width` channels split into `groups` contiguous groups, each normalized to zero mean and unit
/// variance (biased variance, `eps` inside the square root) and then scaled and shifted per
/// channel. This is PyTorch's `nn.GroupNorm(groups, width)` applied to every position on its own
/// (over one token's channels, never across time, so it stays causal). Forward saves each
/// (row, group)'s mean and 1/std.
public enum GroupNorm {
  /// Normalizes `rows` rows of `width` values in `groups` groups.
  public static func forward(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, groups: Int, weight: UnsafePointer<Float>,
    bias: UnsafePointer<Float>, eps: Float, into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
    rstd: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let size = width / groups
    let shared = UncheckedSendable((x, y, mean, rstd, weight, bias))
    // One (row, group) item per task: it owns its outputs.
    parallelFor(rows * groups, threads: Compute.threads(threads, forWork: rows * width)) { item in
      let (x, y, mean, rstd, weight, bias) = shared.value
      let start = (item / groups) * width + (item % groups) * size
      let channel = (item % groups) * size
      let xg = x + start
      var m = 0.0
      for i in 0..<size { m += Double(xg[i]) }
      m /= Double(size)
      var v = 0.0
      for i in 0..<size {
        let e = Double(xg[i]) - m
        v += e * e
      }
      v /= Double(size)
      let s = Float(1 / (v + Double(eps)).squareRoot())
      let mf = Float(m)
      let yg = y + start
      for i in 0..<size { yg[i] = (xg[i] - mf) * s * weight[channel + i] + bias[channel + i] }
      mean[item] = mf
      rstd[item] = s
    }
  }

  /// Adds the gradients of `x`, weight and bias (each when given).
  public static func backward(
    _ x: UnsafePointer<Float>, rows: Int, width: Int, groups: Int, weight: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
    dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    let size = width / groups
    if let dx {
      let shared = UncheckedSendable((x, dx, dy, mean, rstd, weight))
      parallelFor(rows * groups, threads: Compute.threads(threads, forWork: rows * width)) { item in
        let (x, dx, dy, mean, rstd, weight) = shared.value
        let start = (item / groups) * width + (item % groups) * size
        let channel = (item % groups) * size
        let (m, s) = (mean[item], rstd[item])
        // in the forward pass this was: y = x̂·w + b, x̂ = (x − mean)·rstd
        // so now we have: dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))·rstd, dx̂ = dy·w
        var meanD = 0.0
        var meanDNorm = 0.0
        for i in 0..<size {
          let dnorm = Double(dy[start + i] * weight[channel + i])
          meanD += dnorm
          meanDNorm += dnorm * Double((x[start + i] - m) * s)
        }
        let md = Float(meanD / Double(size))
        let mdn = Float(meanDNorm / Double(size))
        for i in 0..<size {
          let norm = (x[start + i] - m) * s
          dx[start + i] += (dy[start + i] * weight[channel + i] - md - norm * mdn) * s
        }
      }
    }
    // Parameter gradients sum over rows in row order: the same for any thread count.
    if dWeight != nil || dBias != nil {
      for r in 0..<rows {
        for c in 0..<width {
          let item = r * groups + c / size
          let g = dy[r * width + c]
          dWeight?[c] += g * (x[r * width + c] - mean[item]) * rstd[item]
          dBias?[c] += g
        }
      }
    }
  }
}

extension Tape {
  /// Group norm of each position of `x` over `groups` groups of its last dimension, with a
  /// weight and bias per channel.
  public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float = 1e-5) -> Tensor {
    let threads = self.threads
    let width = x.lastDimension
    precondition(width % groups == 0 && weight.count == width && bias.count == width, "group norm: \(x.shape) in \(groups) groups, weight \(weight.shape), bias \(bias.shape)")
    let rows = x.rows
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    let stats = Tensor(uninitialized: [2, rows * groups])
    let mean = stats.value.baseAddress!
    let rstd = mean + rows * groups
    GroupNorm.forward(
      x.value.baseAddress!, rows: rows, width: width, groups: groups, weight: weight.value.baseAddress!,
      bias: bias.value.baseAddress!, eps: eps, into: y.value.baseAddress!, mean: mean, rstd: rstd, threads: threads)
    record {
      GroupNorm.backward(
        x.value.baseAddress!, rows: rows, width: width, groups: groups, weight: weight.value.baseAddress!,
        mean: stats.value.baseAddress!, rstd: stats.value.baseAddress! + rows * groups, dy: y.grad.baseAddress!,
        dx: x.requiresGrad ? x.grad.baseAddress! : nil, dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil,
        dBias: bias.requiresGrad ? bias.grad.baseAddress! : nil, threads: threads)
    }
    return y
  }
}
