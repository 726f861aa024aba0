import Foundation

/// Elementwise SiLU (swish) `x·σ(x)` (RetNet's gate, Mamba's activations).
extension Tape {
  /// x·σ(x).
  public func silu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = x.value[i] / (1 + Foundation.exp(-x.value[i])) }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count {
        let s = 1 / (1 + Foundation.exp(-x.value[i]))
        g[i] += y.grad[i] * s * (1 + x.value[i] * (1 - s))
      }
    }
    return y
  }
}
