/// Sliding-window attention (Zoology's `SlidingWindowAttention`): ``AttentionMixer`` where each
/// token sees the last `window_size` positions, itself included, at O(length · window) cost.
/// (Zoology's window `w` lets a query see `w + 1` keys: Zoo's `window_size` = Zoology's `w + 1`.)
public enum SlidingWindowAttentionMixer {
  /// Sliding-window attention's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "sliding_window_attention"
    public static let summary = "causal softmax attention over the last window_size positions"
    public static let optionHelp = [
      "num_heads": "attention heads (must divide d_model)", "attn_dropout": "dropout on the attention probabilities",
      "window_size": "positions each token sees, itself included",
    ]
    public var numHeads: Int
    public var windowSize: Int
    public var attnDropout: Float

    public init(layer: Int) { (numHeads, windowSize, attnDropout) = (1, 64, 0) }
    public init(numHeads: Int = 1, windowSize: Int = 64, attnDropout: Float = 0) {
      (self.numHeads, self.windowSize, self.attnDropout) = (numHeads, windowSize, attnDropout)
    }
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
