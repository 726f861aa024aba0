/// Each head of `x` scaled by the sum of the same head of `u`: `y[h, j] = x[h, j] · Σ_i u[h, i]`
/// per position (RWKV-7's bonus `(Σ_i r_i k_i ρ_i) · v` per head, with `u = r ⊙ k ⊙ ρ`).
extension Tape {
  /// `x`, `u` `[..., heads · headDim]`.
  public func scaleHeads(_ x: Tensor, bySumOf u: Tensor, heads: Int) -> Tensor {
    let width = x.lastDimension
    precondition(x.shape == u.shape && heads >= 1 && width % heads == 0, "scale heads: x \(x.shape), u \(u.shape), \(heads) heads")
    let size = width / heads
    let groups = x.rows * heads
    let sums = Tensor(uninitialized: [groups])
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for group in 0..<groups {
      let start = group * size
      var total: Float = 0
      for i in 0..<size { total += u.value[start + i] }
      sums.value[group] = total
      for j in 0..<size { y.value[start + j] = x.value[start + j] * total }
    }
    record {
      let gy = y.grad
      for group in 0..<groups {
        let start = group * size
        if x.requiresGrad { let g = x.grad; for j in 0..<size { g[start + j] += gy[start + j] * sums.value[group] } }
        if u.requiresGrad {
          var dot: Float = 0
          for j in 0..<size { dot += gy[start + j] * x.value[start + j] }
          let g = u.grad
          for i in 0..<size { g[start + i] += dot }
        }
      }
    }
    return y
  }
}
