import ZooSupport

/// Inverted dropout: each element is kept with probability `1 − p` and scaled by `1/(1 − p)`.
/// Masks come from ``Tape/nextDropoutSeed()``; without a seed (evaluation) the op is the identity.
extension Tape {
  /// `x` with dropout `p`.
  public func dropout(_ x: Tensor, p: Float) -> Tensor {
    guard p > 0, let seed = nextDropoutSeed() else { return x }
    let scale = 1 / (1 - p)
    var rng = SplitMix64(seed: seed)
    let mask = Tensor(uninitialized: x.shape)
    for i in 0..<x.count { mask.value[i] = rng.nextFloat() < p ? 0 : scale }
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for i in 0..<x.count { y.value[i] = x.value[i] * mask.value[i] }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for i in 0..<x.count { g[i] += y.grad[i] * mask.value[i] }
    }
    return y
  }
}
