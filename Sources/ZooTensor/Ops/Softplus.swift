import Foundation

/// Elementwise softplus `log(1 + e^x)` (Mamba's step size Δ), computed as
/// `max(x, 0) + log1p(e^{−|x|})` so that large `|x|` neither overflows nor loses the small tail.
extension Tape {
  /// log(1 + e^x); its derivative is σ(x).
  public func softplus(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count {
      let v = x.value[i]
      y.value[i] = max(v, 0) + Foundation.log1p(Foundation.exp(-abs(v)))
    }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] / (1 + Foundation.exp(-x.value[i])) }
    }
    return y
  }
}
