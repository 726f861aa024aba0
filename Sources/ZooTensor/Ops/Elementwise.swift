import ZooSupport

/// Elementwise sum and product of equal-shape tensors (residual connections, gating), split
/// across threads in contiguous ranges (``parallelRanges(_:threads:grain:_:)``) when large.
extension Tape {
  /// `a + b`.
  public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
    let threads = self.threads
    let y = Tensor(uninitialized: a.shape, requiresGrad: true)
    let (av, bv, yv) = (UncheckedSendable(a.value), UncheckedSendable(b.value), UncheckedSendable(y.value))
    parallelRanges(a.count, threads: threads) { range in for i in range { yv.value[i] = av.value[i] + bv.value[i] } }
    record {
      let g = UncheckedSendable(y.grad)
      for x in [a, b] where x.requiresGrad {
        let gx = UncheckedSendable(x.grad)
        parallelRanges(x.count, threads: threads) { range in
          let lower = range.lowerBound
          VectorAccumulate.add(g.value.baseAddress! + lower, into: gx.value.baseAddress! + lower, count: range.count)
        }
      }
    }
    return y
  }

  /// `a ⊙ b`.
  public func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
    precondition(a.shape == b.shape, "multiply: \(a.shape) vs \(b.shape)")
    let threads = self.threads
    let y = Tensor(uninitialized: a.shape, requiresGrad: true)
    let (av, bv, yv) = (UncheckedSendable(a.value), UncheckedSendable(b.value), UncheckedSendable(y.value))
    parallelRanges(a.count, threads: threads) { range in for i in range { yv.value[i] = av.value[i] * bv.value[i] } }
    record {
      let g = UncheckedSendable(y.grad)
      for (x, other) in [(a, bv), (b, av)] where x.requiresGrad {
        let gx = UncheckedSendable(x.grad)
        parallelRanges(x.count, threads: threads) { range in
          let lower = range.lowerBound
          VectorAccumulate.addProducts(
            g.value.baseAddress! + lower, other.value.baseAddress! + lower, into: gx.value.baseAddress! + lower, count: range.count)
        }
      }
    }
    return y
  }
}
