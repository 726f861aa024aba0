import ZooSupport

/// Causal depthwise convolution with a short kernel and an optional bias, as PyTorch's
/// `Conv1d(d, d, k, groups=d, padding=k-1)` keeping the first `length` outputs:
/// `y[b, t, c] = bias[c] + Σ_{s<k} w[c, s] · x[b, t − (k−1) + s, c]` (zero before the start; no
/// bias term without one, as fla's `ShortConvolution` by default).
public enum ShortConvolution {
  public static func forward(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, weight: UnsafePointer<Float>, kernel: Int,
    bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((x, y, weight, bias))
    parallelFor(batch, threads: threads) { b in
      let (x, y, weight, bias) = shared.value
      for t in 0..<length {
        let out = y + (b * length + t) * d
        for c in 0..<d { out[c] = bias?[c] ?? 0 }
        for s in 0..<kernel {
          let source = t - (kernel - 1) + s
          guard source >= 0 else { continue }
          let row = x + (b * length + source) * d
          for c in 0..<d { out[c] += weight[c * kernel + s] * row[c] }
        }
      }
    }
  }

  /// Adds the gradients of `x`, weight and bias.
  public static func backward(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, weight: UnsafePointer<Float>, kernel: Int,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
    dBias: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    if let dx {
      let shared = UncheckedSendable((dx, dy, weight))
      parallelFor(batch, threads: threads) { b in
        let (dx, dy, weight) = shared.value
        for t in 0..<length {
          let g = dy + (b * length + t) * d
          for s in 0..<kernel {
            let source = t - (kernel - 1) + s
            guard source >= 0 else { continue }
            let row = dx + (b * length + source) * d
            for c in 0..<d { row[c] += weight[c * kernel + s] * g[c] }
          }
        }
      }
    }
    // Parameter gradients in a fixed order.
    for b in 0..<batch {
      for t in 0..<length {
        let g = dy + (b * length + t) * d
        if let dBias { for c in 0..<d { dBias[c] += g[c] } }
        if let dWeight {
          for s in 0..<kernel {
            let source = t - (kernel - 1) + s
            guard source >= 0 else { continue }
            let row = x + (b * length + source) * d
            for c in 0..<d { dWeight[c * kernel + s] += g[c] * row[c] }
          }
        }
      }
    }
  }
}

extension Tape {
  /// Causal depthwise convolution of `x` `[batch, length, d]` with `weight` `[d, 1, k]` and `bias` `[d]` (or none).
  public func shortConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let threads = self.threads
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    let kernel = weight.shape.last!
    precondition(weight.count == d * kernel && (bias?.count ?? d) == d, "short convolution: weight \(weight.shape) for \(x.shape)")
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    ShortConvolution.forward(
      x.value.baseAddress!, batch: batch, length: length, d: d, weight: weight.value.baseAddress!, kernel: kernel,
      bias: bias?.value.baseAddress, into: y.value.baseAddress!, threads: threads)
    record {
      ShortConvolution.backward(
        x.value.baseAddress!, batch: batch, length: length, d: d, weight: weight.value.baseAddress!, kernel: kernel,
        dy: y.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil, dBias: bias?.requiresGrad == true ? bias!.grad.baseAddress! : nil, threads: threads)
    }
    return y
  }
}
