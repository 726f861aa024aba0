import ZooTensor

/// Multi-head causal softmax attention (Zoology's `MHA`): one fused `Wqkv` projection with bias,
/// scores scaled by 1/√head_dim, causal softmax, `out_proj` with bias. With a window it is
/// sliding-window attention (Zoology's `SlidingWindowAttention`): each token sees the last
/// `window` positions, itself included, at O(length · window) cost.
public final class AttentionMixer: SequenceMixer {
  let d: Int
  let heads: Int
  let window: Int?
  let dropout: Float
  let wqkv: NamedParameter
  let bqkv: NamedParameter
  let wout: NamedParameter
  let bout: NamedParameter

  public init(context: MixerContext, window: Int? = nil) {
    let d = context.config.dModel
    self.d = d
    heads = context.config.heads
    self.window = window
    dropout = context.config.attnDropout
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
