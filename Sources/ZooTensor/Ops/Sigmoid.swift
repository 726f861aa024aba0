import Foundation

/// Elementwise logistic sigmoid `σ(x) = 1/(1 + e^{−x})` (RWKV's receptance gate).
extension Tape {
  /// σ(x).
  public func sigmoid(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = 1 / (1 + Foundation.exp(-x.value[i])) }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] * y.value[i] * (1 - y.value[i]) }
    }
    return y
  }
}
