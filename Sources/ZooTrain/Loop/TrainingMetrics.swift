import ZooTracking

/// The metrics Zoo's trainers log, each with its goal.
extension Metric {
  /// Mean training loss of a step (LM) or an epoch (MQAR).
  public static let trainLoss = Metric("train/loss", goal: .min)
  /// The learning rate of a step: a setting, no best.
  public static let trainLearningRate = Metric("train/lr", goal: .none)
  /// The gradient norm before clipping: no best.
  public static let trainGradNorm = Metric("train/grad_norm", goal: .none)
  /// Training throughput: best when highest.
  public static let trainTokensPerSecond = Metric("train/tokens_per_s", goal: .max)
  /// Wall-clock seconds of an MQAR epoch's training pass: a timing, no best.
  public static let trainEpochSeconds = Metric("train/epoch_seconds", goal: .none)
  /// Entropy of the training unigram distribution: a property of the data, no best.
  public static let trainUnigramEntropy = Metric("train/unigram_entropy", goal: .none)
  /// Held-out loss.
  public static let evalLoss = Metric("eval/loss", goal: .min)
  /// Held-out loss of the training unigram distribution (the context-free baseline).
  public static let evalUnigramLoss = Metric("eval/unigram_loss", goal: .min)
  /// MQAR test accuracy at the query positions.
  public static let evalAccuracy = Metric("eval/accuracy", goal: .max)

  /// MQAR test accuracy on one test slice (`L128-kv8`).
  public static func evalAccuracy(slice: String) -> Metric { Metric("eval/accuracy/" + slice, goal: .max) }
}
