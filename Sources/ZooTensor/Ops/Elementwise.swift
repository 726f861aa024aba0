/// Elementwise sum and product of equal-shape tensors (residual connections, gating).
extension Tape {
  /// `a + b`.
  public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
    let y = Tensor(uninitialized: a.shape, requiresGrad: true)
    for i in 0..<a.count { y.value[i] = a.value[i] + b.value[i] }
    record {
      let g = y.grad
      if a.requiresGrad { let ga = a.grad; for i in 0..<a.count { ga[i] += g[i] } }
      if b.requiresGrad { let gb = b.grad; for i in 0..<b.count { gb[i] += g[i] } }
    }
    return y
  }

  /// `a ⊙ b`.
  public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "multiply: \(a.shape) vs \(b.shape)")
    let y = Tensor(uninitialized: a.shape, requiresGrad: true)
    for i in 0..<a.count { y.value[i] = a.value[i] * b.value[i] }
    record {
      let g = y.grad
      if a.requiresGrad { let ga = a.grad; for i in 0..<a.count { ga[i] += g[i] * b.value[i] } }
      if b.requiresGrad { let gb = b.grad; for i in 0..<b.count { gb[i] += g[i] * a.value[i] } }
    }
    return y
  }
}
