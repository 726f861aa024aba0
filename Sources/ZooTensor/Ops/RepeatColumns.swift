/// Repeats the last dimension (Mamba-2 shares its `B`, `C` over the heads and broadcasts its
/// per-head step `Δ` and skip `D` over a head's channels).
extension Tape {
  /// `x` `[..., n]` to `[..., times·n·each]`: every column `each` times in a row, the whole row
  /// `times` times, `y[..., (r·n + c)·each + e] = x[..., c]`. The gradient sums the copies.
  public func repeatColumns(_ x: Tensor, each: Int = 1, times: Int = 1) -> Tensor {
    precondition(each > 0 && times > 0, "repeat columns: each \(each), times \(times)")
    let n = x.lastDimension
    let width = times * n * each
    let rows = x.rows
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [width], requiresGrad: true)
    for row in 0..<rows {
      for r in 0..<times {
        for c in 0..<n {
          let value = x.value[row * n + c]
          for e in 0..<each { y.value[row * width + (r * n + c) * each + e] = value }
        }
      }
    }
    record {
      guard x.requiresGrad else { return }
      let (g, gy) = (x.grad, y.grad)
      for row in 0..<rows {
        for r in 0..<times { for c in 0..<n { for e in 0..<each { g[row * n + c] += gy[row * width + (r * n + c) * each + e] } } }
      }
    }
    return y
  }
}
