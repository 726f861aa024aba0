import Foundation
import ZooSupport

/// Column slices and per-column scaling and shifting over the last dimension.
extension Tape {
  /// Columns `range` of the last dimension of `x` (a copy; gradients flow back into those columns).
  public func columns(_ x: Tensor, _ range: Range<Int>) -> Tensor {
    let n = x.lastDimension
    precondition(range.lowerBound >= 0 && range.upperBound <= n, "columns \(range) of \(x.shape)")
    let width = range.count
    let rows = x.rows
    let threads = self.threads
    let grain = max(1, (1 << 15) / max(width, 1))
    let y = Tensor(uninitialized: Array(x.shape.dropLast()) + [width], requiresGrad: true)
    let (source, copy) = (UncheckedSendable(x.value.baseAddress! + range.lowerBound), UncheckedSendable(y.value.baseAddress!))
    parallelRanges(rows, threads: threads, grain: grain) { part in
      for r in part { (copy.value + r * width).update(from: source.value + r * n, count: width) }
    }
    record {
      guard x.requiresGrad else { return }
      let (g, gy) = (UncheckedSendable(x.grad.baseAddress! + range.lowerBound), UncheckedSendable(y.grad.baseAddress!))
      parallelRanges(rows, threads: threads, grain: grain) { part in
        for r in part { VectorAccumulate.add(gy.value + r * width, into: g.value + r * n, count: width) }
      }
    }
    return y
  }

  /// `x[..., c] · scale[c]` (a learned per-channel factor, broadcast over rows).
  public func scaleColumns(_ x: Tensor, by scale: Tensor) -> Tensor {
    let n = x.lastDimension
    precondition(scale.count == n, "scale \(scale.shape) for \(x.shape)")
    let rows = x.rows
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for r in 0..<rows { for c in 0..<n { y.value[r * n + c] = x.value[r * n + c] * scale.value[c] } }
    record {
      let gy = y.grad
      if x.requiresGrad { let g = x.grad; for r in 0..<rows { for c in 0..<n { g[r * n + c] += gy[r * n + c] * scale.value[c] } } }
      if scale.requiresGrad {
        let g = scale.grad
        for r in 0..<rows { for c in 0..<n { g[c] += gy[r * n + c] * x.value[r * n + c] } }
      }
    }
    return y
  }

  /// `x[..., c] + bias[c]` (a learned per-channel offset, broadcast over rows: Mamba-2's `dt_bias`).
  public func addColumns(_ x: Tensor, _ bias: Tensor) -> Tensor {
    let n = x.lastDimension
    precondition(bias.count == n, "bias \(bias.shape) for \(x.shape)")
    let rows = x.rows
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for r in 0..<rows { for c in 0..<n { y.value[r * n + c] = x.value[r * n + c] + bias.value[c] } }
    record {
      let gy = y.grad
      if x.requiresGrad { let g = x.grad; for i in 0..<x.count { g[i] += gy[i] } }
      if bias.requiresGrad { let g = bias.grad; for r in 0..<rows { for c in 0..<n { g[c] += gy[r * n + c] } } }
    }
    return y
  }

  /// `sin(ω[c] · x[..., c])` with a learned frequency per column (Hyena's filter activation).
  public func sin(_ x: Tensor, frequency: Tensor) -> Tensor {
    let n = x.lastDimension
    precondition(frequency.count == n, "frequency \(frequency.shape) for \(x.shape)")
    let rows = x.rows
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for r in 0..<rows { for c in 0..<n { y.value[r * n + c] = Foundation.sin(frequency.value[c] * x.value[r * n + c]) } }
    record {
      let gy = y.grad
      for r in 0..<rows {
        for c in 0..<n {
          let i = r * n + c
          let slope = Foundation.cos(frequency.value[c] * x.value[i]) * gy[i]
          if x.requiresGrad { x.grad[i] += slope * frequency.value[c] }
          if frequency.requiresGrad { frequency.grad[c] += slope * x.value[i] }
        }
      }
    }
    return y
  }
}

extension Tape {
  /// Rows `range` of a 2-D tensor (a copy; gradients flow back into those rows).
  public func rows(_ x: Tensor, _ range: Range<Int>) -> Tensor {
    precondition(x.shape.count == 2 && range.upperBound <= x.shape[0], "rows \(range) of \(x.shape)")
    let n = x.shape[1]
    let y = Tensor(Array(x.value[(range.lowerBound * n)..<(range.upperBound * n)]), shape: [range.count, n], requiresGrad: true)
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<(range.count * n) { g[range.lowerBound * n + i] += y.grad[i] }
    }
    return y
  }
}
