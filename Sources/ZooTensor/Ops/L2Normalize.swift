/// Each head of each position scaled to unit length, `y = x / √(Σ_i x_i² + eps)` over the head's
/// `headDim` channels (flash-linear-attention's `l2_norm`, eps 10⁻⁶: RWKV-7's κ̂, the delta rules' keys).
/// Backward: `dx = (dy − y·(y·dy)) / √(Σ x² + eps)`.
extension Tape {
  /// `x` `[..., heads · headDim]` normalized per head.
  public func l2NormalizeHeads(_ x: Tensor, heads: Int, eps: Float = 1e-6) -> Tensor {
    let width = x.lastDimension
    precondition(heads >= 1 && width % heads == 0, "l2 normalize: \(x.shape) in \(heads) heads")
    let size = width / heads
    let groups = x.rows * heads
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    let rstd = Tensor(uninitialized: [groups])
    for group in 0..<groups {
      let start = group * size
      var total = 0.0
      for i in 0..<size { total += Double(x.value[start + i]) * Double(x.value[start + i]) }
      let r = Float(1 / (total + Double(eps)).squareRoot())
      rstd.value[group] = r
      for i in 0..<size { y.value[start + i] = x.value[start + i] * r }
    }
    record {
      guard x.requiresGrad else { return }
      let (g, gy) = (x.grad, y.grad)
      for group in 0..<groups {
        let start = group * size
        var dot = 0.0
        for i in 0..<size { dot += Double(y.value[start + i]) * Double(gy[start + i]) }
        let (r, d) = (rstd.value[group], Float(dot))
        for i in 0..<size { g[start + i] += (gy[start + i] - y.value[start + i] * d) * r }
      }
    }
    return y
  }
}
