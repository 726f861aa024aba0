/// Global gradient-norm clipping, as PyTorch's `clip_grad_norm_`: the L2 norm over every
/// parameter's gradient (summed per tensor in float, across tensors in double), and when it is
/// above `maxNorm` every gradient is scaled by `maxNorm / norm`.
public enum GradientClipping {
  /// Clips the gradients of `parameters` to a global norm of at most `maxNorm` (0 = no clipping);
  /// returns the norm before clipping.
  @discardableResult
  public static func clip(_ parameters: [Tensor], maxNorm: Double) -> Double {
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
}
