import ZooTensor

/// Based's linear attention (Zoology's `LinearAttention` with the `TaylorExp` feature map):
/// queries and keys projected to `feature_dim` per head, values to `d`, causal linear attention
/// with `φ(q)·φ(k) = 1 + s + s²/2`, then `out_proj`. No biases, as Zoology.
public final class BasedMixer: SequenceMixer {
  /// Based's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "based"
    public static let summary = "linear attention with the 2nd-order Taylor feature map"
    @MixerOption("heads (must divide d_model)") public var numHeads = 1
    @MixerOption("query/key dimension per head fed to the Taylor feature map") public var featureDim = 16

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(numHeads: 2, featureDim: 4) }

    public func validate(dModel: Int) throws {
      try validateHeads(numHeads, dModel: dModel)
      try validatePositive(["feature_dim": featureDim])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer {
      BasedMixer(context: context, heads: numHeads, featureDim: featureDim)
    }
  }

  let d, heads, featureDim: Int
  let wq, wk, wv, wout: NamedParameter

  public init(context: MixerContext, heads: Int, featureDim: Int) {
    let d = context.dModel
    self.d = d
    self.heads = heads
    self.featureDim = featureDim
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
