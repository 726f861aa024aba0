import ZooTensor

/// Multi-head causal softmax attention (Zoology's `MHA`): one fused `Wqkv` projection with bias,
/// scores scaled by 1/√head_dim, causal softmax, `out_proj` with bias. With a window it is
/// sliding-window attention (Zoology's `SlidingWindowAttention`): each token sees the last
/// `window` positions, itself included, at O(length · window) cost.
public final class AttentionMixer: SequenceMixer {
  /// Attention's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "attention"
    public static let summary = "multi-head causal softmax attention"
    @MixerOption("attention heads (must divide d_model)") public var numHeads = 1
    @MixerOption("dropout on the attention probabilities") public var attnDropout: Float = 0

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(numHeads: 2) }

    public func validate(dModel: Int) throws {
      try validateHeads(numHeads, dModel: dModel)
      try validateDropout(attnDropout, "attn_dropout")
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer {
      AttentionMixer(context: context, heads: numHeads, window: nil, dropout: attnDropout)
    }
  }

  let d: Int
  let heads: Int
  let window: Int?
  let dropout: Float
  let wqkv: NamedParameter
  let bqkv: NamedParameter
  let wout: NamedParameter
  let bout: NamedParameter

  /// Attention over all earlier positions, or over the last `window` with a window.
  public init(context: MixerContext, heads: Int, window: Int?, dropout: Float) {
    let d = context.dModel
    self.d = d
    self.heads = heads
    self.window = window
    self.dropout = dropout
    wqkv = NamedParameter("Wqkv.weight", [3 * d, d], std: context.std)
    bqkv = NamedParameter("Wqkv.bias", [3 * d], std: nil)
    wout = NamedParameter("out_proj.weight", [d, d], std: context.outputStd)
    bout = NamedParameter("out_proj.bias", [d], std: nil)
  }

  public var parameters: [NamedParameter] { [wqkv, bqkv, wout, bout] }

  /// The key–value cache: `2·d·L`, or `2·d·w` for a window of `w` positions.
  public func stateSize(length: Int) -> Int { 2 * d * min(length, window ?? length) }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let qkv = tape.linear(x, weight: wqkv.tensor, bias: bqkv.tensor)
    let mixed =
      window.map { tape.slidingWindowAttention(qkv, heads: heads, window: $0, dropout: dropout) }
      ?? tape.causalSelfAttention(qkv, heads: heads, dropout: dropout)
    return tape.linear(mixed, weight: wout.tensor, bias: bout.tensor)
  }
}
