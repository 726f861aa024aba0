/// Column gathers over the last dimension and their adjoint (H3's per-head outer products).
extension Tape {
  /// `y[..., j] = x[..., indices[j]]`; gradients add back into the gathered columns.
  public func gatherColumns(_ x: Tensor, _ indices: [Int]) -> Tensor {
    let n = x.lastDimension
    precondition(indices.allSatisfy { (0..<n).contains($0) }, "gather: an index is outside the \(n) columns")
    let width = indices.count
    let rows = x.rows
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [width], requiresGrad: true)
    for r in 0..<rows { for j in 0..<width { y.value[r * width + j] = x.value[r * n + indices[j]] } }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for r in 0..<rows { for j in 0..<width { g[r * n + indices[j]] += y.grad[r * width + j] } }
    }
    return y
  }

  /// `y[..., c] = Σ_{j : indices[j] = c} x[..., j]` with `width` output columns (the adjoint of
  /// ``gatherColumns(_:_:)``: sums groups of columns).
  public func scatterAddColumns(_ x: Tensor, _ indices: [Int], width: Int) -> Tensor {
    let n = x.lastDimension
    precondition(indices.count == n && indices.allSatisfy { (0..<width).contains($0) }, "scatter: indices for \(x.shape) into \(width)")
    let rows = x.rows
    let y = Tensor(zeros: Array(x.shape.dropLast()) + [width], requiresGrad: true)
    for r in 0..<rows { for j in 0..<n { y.value[r * width + indices[j]] += x.value[r * n + j] } }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for r in 0..<rows { for j in 0..<n { g[r * n + j] += y.grad[r * width + indices[j]] } }
    }
    return y
  }
}
