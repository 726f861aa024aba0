import Foundation

/// Elementwise hyperbolic tangent (the activation inside RWKV-7's decay LoRA).
extension Tape {
  /// tanh(x).
  public func tanh(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = Foundation.tanh(x.value[i]) }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] * (1 - y.value[i] * y.value[i]) }
    }
    return y
  }
}
