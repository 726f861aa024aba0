import ZooSupport

/// Causal long convolution of every channel with its own filter as long as the sequence, by
/// FFT (``CausalLongConvolution``): `y[b, t, c] = Σ_{s≤t} k[c, s] · x[b, t−s, c]`.
extension Tape {
  /// `x` is `[batch, length, d]`, `filter` is `[d, length]`; returns `[batch, length, d]`.
  public func longConvolution(_ x: Tensor, filter: Tensor) -> Tensor {
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(filter.shape == [d, length], "long convolution: filter \(filter.shape) for input \(x.shape)")
    let threads = Compute.threads
    // Channel-major copies: rows are (batch, channel) pairs.
    let u = Tensor(zeros: [batch, d, length])
    Transpose.apply(x.value.baseAddress!, batches: batch, m: length, n: d, into: u.value.baseAddress!, accumulate: false)
    let yT = Tensor(zeros: [batch, d, length])
    CausalLongConvolution.forward(
      y: yT.value.baseAddress!, u: u.value.baseAddress!, k: filter.value.baseAddress!, rows: batch * d, T: length,
      filterOf: { $0 % d }, threads: threads)
    let y = Tensor(zeros: x.shape, requiresGrad: true)
    Transpose.apply(yT.value.baseAddress!, batches: batch, m: d, n: length, into: y.value.baseAddress!, accumulate: false)
    record {
      let dY = Tensor(zeros: [batch, d, length])
      Transpose.apply(y.grad.baseAddress!, batches: batch, m: length, n: d, into: dY.value.baseAddress!, accumulate: false)
      let dU = Tensor(zeros: [batch, d, length])
      let dK = Tensor(zeros: [d, length])
      CausalLongConvolution.backward(
        dU: dU.value.baseAddress!, dK: dK.value.baseAddress!, dY: dY.value.baseAddress!, u: u.value.baseAddress!,
        k: filter.value.baseAddress!, rows: batch * d, T: length, filterOf: { $0 % d }, threads: threads)
      if x.requiresGrad {
        Transpose.apply(dU.value.baseAddress!, batches: batch, m: d, n: length, into: x.grad.baseAddress!, accumulate: true)
      }
      if filter.requiresGrad {
        let g = filter.grad
        for i in 0..<filter.count { g[i] += dK.value[i] }
      }
    }
    return y
  }
}
