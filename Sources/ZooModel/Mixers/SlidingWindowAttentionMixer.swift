/// Sliding-window attention (Zoology's `SlidingWindowAttention`): ``AttentionMixer`` where each
/// token sees the last `window_size` positions, itself included, at O(length · window) cost.
/// (Zoology's window `w` lets a query see `w + 1` keys: Zoo's `window_size` = Zoology's `w + 1`.)
public enum SlidingWindowAttentionMixer {
  /// Sliding-window attention's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "sliding_window_attention"
    public static let summary = "causal softmax attention over the last window_size positions"
    @MixerOption("attention heads (must divide d_model)") public var numHeads = 1
    @MixerOption("positions each token sees, itself included") public var windowSize = 64
    @MixerOption("dropout on the attention probabilities") public var attnDropout: Float = 0

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(numHeads: 2, windowSize: 4) }

    public func validate(dModel: Int) throws {
      try validateHeads(numHeads, dModel: dModel)
      try validateDropout(attnDropout, "attn_dropout")
      try validatePositive(["window_size": windowSize])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer {
      AttentionMixer(context: context, heads: numHeads, window: windowSize, dropout: attnDropout)
    }
  }
}
