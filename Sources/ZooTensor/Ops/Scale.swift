/// Multiplication by a constant (RWKV-7's log decay `−e^{−0.5}·σ(·)`, its `a = −κ̂`).
extension Tape {
  /// `factor · x`.
  public func scale(_ x: Tensor, by factor: Float) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = factor * x.value[i] }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += factor * y.grad[i] }
    }
    return y
  }
}
