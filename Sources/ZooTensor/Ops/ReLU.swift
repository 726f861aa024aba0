/// Elementwise `max(x, 0)`.
extension Tape {
  /// ReLU.
  public func relu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = max(x.value[i], 0) }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count where x.value[i] > 0 { g[i] += y.grad[i] }
    }
    return y
  }
}
