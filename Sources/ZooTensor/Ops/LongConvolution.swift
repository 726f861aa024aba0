import ZooSupport

/// Causal long convolution of every channel with its own filter as long as the sequence, by
/// FFT (``CausalLongConvolution``): `y[b, t, c] = Σ_{s≤t} k[c, s] · x[b, t−s, c]`.
extension Tape {
  /// `x` is `[batch, length, d]`, `filter` is `[d, length]`; returns `[batch, length, d]`.
  public func longConvolution(_ x: Tensor, filter: Tensor) -> Tensor {
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    precondition(filter.shape == [d, length], "long convolution: filter \(filter.shape) for input \(x.shape)")
    let threads = self.threads
    let y = Tensor(zeros: x.shape, requiresGrad: true)
    CausalLongConvolution.forward(
      y: y.value.baseAddress!, x: x.value.baseAddress!, k: filter.value.baseAddress!, batch: batch, T: length,
      channels: d, threads: threads)
    record {
      guard x.requiresGrad || filter.requiresGrad else { return }
      // Both gradients come out of one pass; one not asked for lands in scratch.
      let dX = x.requiresGrad ? x.grad : UnsafeMutableBufferPointer<Float>.allocate(capacity: x.count)
      let dK = filter.requiresGrad ? filter.grad : UnsafeMutableBufferPointer<Float>.allocate(capacity: filter.count)
      if !x.requiresGrad { dX.initialize(repeating: 0) }
      if !filter.requiresGrad { dK.initialize(repeating: 0) }
      defer {
        if !x.requiresGrad { dX.deallocate() }
        if !filter.requiresGrad { dK.deallocate() }
      }
      CausalLongConvolution.backward(
        dX: dX.baseAddress!, dK: dK.baseAddress!, dY: y.grad.baseAddress!, x: x.value.baseAddress!,
        k: filter.value.baseAddress!, batch: batch, T: length, channels: d, threads: threads)
    }
    return y
  }
}
