/// Per-column linear interpolation `a + w[c]·(b − a)` with a learned weight per column (RWKV's
/// time mixing `μ ⊙ x + (1 − μ) ⊙ x_{t−1}` is `lerp(shifted, x, weight: μ)`).
extension Tape {
  /// `a[..., c] + weight[c] · (b[..., c] − a[..., c])`.
  public func lerp(_ a: Tensor, _ b: Tensor, weight: Tensor) -> Tensor {
    let n = a.lastDimension
    precondition(a.shape == b.shape && weight.count == n, "lerp: \(a.shape), \(b.shape), weight \(weight.shape)")
    let rows = a.rows
    let y = Tensor(uninitialized: a.shape, requiresGrad: true)
    for r in 0..<rows {
      for c in 0..<n {
        let i = r * n + c
        y.value[i] = a.value[i] + weight.value[c] * (b.value[i] - a.value[i])
      }
    }
    record {
      let gy = y.grad
      if a.requiresGrad { let g = a.grad; for r in 0..<rows { for c in 0..<n { g[r * n + c] += gy[r * n + c] * (1 - weight.value[c]) } } }
      if b.requiresGrad { let g = b.grad; for r in 0..<rows { for c in 0..<n { g[r * n + c] += gy[r * n + c] * weight.value[c] } } }
      if weight.requiresGrad {
        let g = weight.grad
        for r in 0..<rows { for c in 0..<n { g[c] += gy[r * n + c] * (b.value[r * n + c] - a.value[r * n + c]) } }
      }
    }
    return y
  }
}
