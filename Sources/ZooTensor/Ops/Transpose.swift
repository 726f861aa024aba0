/// Swaps the last two dimensions: `[..., m, n]` → `[..., n, m]`.
extension Tape {
  /// Transposed copy of the last two dimensions.
  public func transpose(_ x: Tensor) -> Tensor {
    precondition(x.shape.count >= 2, "transpose: needs two dimensions, got \(x.shape)")
    let m = x.shape[x.shape.count - 2]
    let n = x.shape[x.shape.count - 1]
    let batches = x.count / max(1, m * n)
    let y = Tensor(uninitialized: Array(x.shape.dropLast(2)) + [n, m], requiresGrad: true)
    Transpose.apply(x.value.baseAddress!, batches: batches, m: m, n: n, into: y.value.baseAddress!, accumulate: false)
    record {
      guard x.requiresGrad else { return }
      Transpose.apply(y.grad.baseAddress!, batches: batches, m: n, n: m, into: x.grad.baseAddress!, accumulate: true)
    }
    return y
  }
}

/// Batched matrix transpose.
public enum Transpose {
  /// Side of the square tiles the copy walks (both matrices' rows of a tile stay in cache).
  static let tile = 16

  /// `y[b, j, i] (=|+=) x[b, i, j]` for `x` of shape `[batches, m, n]`.
  public static func apply(
    _ x: UnsafePointer<Float>, batches: Int, m: Int, n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool
  ) {
    for b in 0..<batches {
      let xb = x + b * m * n
      let yb = y + b * m * n
      for i0 in stride(from: 0, to: m, by: tile) {
        for j0 in stride(from: 0, to: n, by: tile) {
          let (i1, j1) = (min(i0 + tile, m), min(j0 + tile, n))
          if accumulate {
            for j in j0..<j1 { for i in i0..<i1 { yb[j * m + i] += xb[i * n + j] } }
          } else {
            for j in j0..<j1 { for i in i0..<i1 { yb[j * m + i] = xb[i * n + j] } }
          }
        }
      }
    }
  }
}
