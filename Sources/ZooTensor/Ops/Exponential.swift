import Foundation

/// Elementwise `scale · e^x` (Mamba's state matrix `A = −exp(A_log)` is `exponential(aLog, scale: −1)`).
extension Tape {
  /// scale·e^x.
  public func exponential(_ x: Tensor, scale: Float = 1) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = scale * Foundation.exp(x.value[i]) }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] * y.value[i] }
    }
    return y
  }
}
