import Foundation

/// Elementwise `scale · log σ(x)` (GLA's log-gates, `logsigmoid(x) / gate_logit_normalizer`),
/// computed as `scale · (min(x, 0) − log1p(e^{−|x|}))`, so no exponential overflows and the small
/// tail is kept.
extension Tape {
  /// scale·log σ(x); its derivative is scale·σ(−x).
  public func logSigmoid(_ x: Tensor, scale: Float = 1) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count {
      let v = x.value[i]
      y.value[i] = scale * (min(v, 0) - Foundation.log1p(Foundation.exp(-abs(v))))
    }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] * scale / (1 + Foundation.exp(x.value[i])) }
    }
    return y
  }
}
