/// Global gradient-norm clipping: scales the gradients of `parameters` by `maxNorm / norm` when their
/// joint L2 norm exceeds `maxNorm` (`maxNorm <= 0`: no clipping), and returns the norm before.
///
/// Each tensor's squares are summed in Float in element order, the tensors' sums in Double in
/// parameter order, so the norm does not depend on the thread count. (PyTorch's
/// `clip_grad_norm_` scales by `maxNorm / (norm + 1e-6)`, a relative difference of about 1e-6.)
public func clipGradientNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
  var sum = 0.0
  for p in parameters where p.hasGrad {
    let g = p.grad
    var partial: Float = 0
    for i in 0..<p.count { partial += g[i] * g[i] }
    sum += Double(partial)
  }
  let norm = sum.squareRoot()
  if maxNorm > 0, norm > maxNorm {
    let scale = Float(maxNorm / norm)
    for p in parameters where p.hasGrad {
      let g = p.grad
      for i in 0..<p.count { g[i] *= scale }
    }
  }
  return norm
}
