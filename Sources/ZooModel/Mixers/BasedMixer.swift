import ZooTensor

/// Based's linear attention (Zoology's `LinearAttention` with the `TaylorExp` feature map):
/// queries and keys projected to `feature_dim` per head, values to `d`, causal linear attention
/// with `φ(q)·φ(k) = 1 + s + s²/2`, then `out_proj`. No biases, as Zoology.
public final class BasedMixer: SequenceMixer {
  let d: Int
  let heads: Int
  let featureDim: Int
  let wq: NamedParameter
  let wk: NamedParameter
  let wv: NamedParameter
  let wout: NamedParameter

  public init(context: MixerContext) {
    let d = context.config.dModel
    self.d = d
    heads = context.config.heads
    featureDim = context.config.featureDim
    wq = NamedParameter("proj_q.weight", [heads * featureDim, d], std: context.std)
    wk = NamedParameter("proj_k.weight", [heads * featureDim, d], std: context.std)
    wv = NamedParameter("proj_v.weight", [d, d], std: context.std)
    wout = NamedParameter("out_proj.weight", [d, d], std: context.outputStd)
  }

  public var parameters: [NamedParameter] { [wq, wk, wv, wout] }

  /// Per head the running `Σ φ(k)vᵀ` and `Σ φ(k)`, with φ's `f(f+1)/2 + f + 1` distinct features
  /// (the symmetric second-order terms stored once), as Zoology's `state_size`.
  public func stateSize(length: Int) -> Int {
    let features = featureDim * (featureDim + 1) / 2 + featureDim + 1
    return heads * (d / heads) * features + heads * features
  }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let q = tape.linear(x, weight: wq.tensor, bias: nil)
    let k = tape.linear(x, weight: wk.tensor, bias: nil)
    let v = tape.linear(x, weight: wv.tensor, bias: nil)
    let y = tape.taylorLinearAttention(q: q, k: k, v: v, heads: heads, featureDim: featureDim)
    return tape.linear(y, weight: wout.tensor, bias: nil)
  }
}
