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
  /// `y[b, j, i] (=|+=) x[b, i, j]` for `x` of shape `[batches, m, n]`.
  public static func apply(
    _ x: UnsafePointer<Float>, batches: Int, m: Int, n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool
  ) {
    for b in 0..<batches {
      let xb = x + b * m * n
      let yb = y + b * m * n
      for i in 0..<m {
        for j in 0..<n {
          if accumulate { yb[j * m + i] += xb[i * n + j] } else { yb[j * m + i] = xb[i * n + j] }
        }
      }
    }
  }
}
