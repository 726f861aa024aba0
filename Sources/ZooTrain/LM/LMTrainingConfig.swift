import Foundation
import ZooModel

/// Everything that defines a language-model run: the model, the data and the optimization.
/// Stored in the checkpoint (so `--resume` needs only the name) and in the registry.
public struct LMTrainingConfig: Codable, Equatable, Sendable {
  public var model: ModelConfig
  /// Token store paths.
  public var data: [String]
  /// Tokens per training window (inputs; each window reads `seqLen + 1` tokens).
  public var seqLen: Int
  public var batch: Int
  public var steps: Int
  public var learningRate: Double
  public var weightDecay: Double
  /// Linear warmup steps, then cosine decay to `minLearningRateRatio · lr`.
  public var warmupSteps: Int
  public var minLearningRateRatio: Double
  /// Global gradient-norm clip (0 = off).
  public var gradClip: Double
  /// Held-out tokens at the end of the last store.
  public var evalTokens: Int
  public var seed: UInt64
  public var checkpointEvery: Int
  public var logEvery: Int

  enum CodingKeys: String, CodingKey {
    case model, data, batch, steps, seed
    case seqLen = "seq_len"
    case learningRate = "lr"
    case weightDecay = "weight_decay"
    case warmupSteps = "warmup_steps"
    case minLearningRateRatio = "min_lr_ratio"
    case gradClip = "grad_clip"
    case evalTokens = "eval_tokens"
    case checkpointEvery = "checkpoint_every"
    case logEvery = "log_every"
  }

  public init(
    model: ModelConfig, data: [String], seqLen: Int, batch: Int, steps: Int, learningRate: Double,
    weightDecay: Double = 0.1, warmupSteps: Int? = nil, minLearningRateRatio: Double = 0.1, gradClip: Double = 1,
    evalTokens: Int = 65536, seed: UInt64 = 1, checkpointEvery: Int = 100, logEvery: Int = 10
  ) {
    self.model = model
    self.data = data
    self.seqLen = seqLen
    self.batch = batch
    self.steps = steps
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.warmupSteps = warmupSteps ?? min(100, steps / 10)
    self.minLearningRateRatio = minLearningRateRatio
    self.gradClip = gradClip
    self.evalTokens = evalTokens
    self.seed = seed
    self.checkpointEvery = checkpointEvery
    self.logEvery = logEvery
  }

  /// Learning rate at `step` (0-based).
  public func learningRate(at step: Int) -> Double {
    if step < warmupSteps { return learningRate * Double(step + 1) / Double(warmupSteps) }
    let span = max(1, steps - warmupSteps)
    let progress = min(1, Double(step - warmupSteps) / Double(span))
    let cosine = 0.5 * (1 + Foundation.cos(Double.pi * progress))
    return learningRate * (minLearningRateRatio + (1 - minLearningRateRatio) * cosine)
  }

  /// Flat parameters for the registry's `params` table: the model's (``ModelConfig/params``, every
  /// mixer option included), the data's and the optimizer's.
  public var params: [String: String] {
    model.params.merging([
      "seq_len": String(seqLen), "batch": String(batch), "steps": String(steps),
      "lr": String(learningRate), "weight_decay": String(weightDecay), "warmup_steps": String(warmupSteps),
      "min_lr_ratio": String(minLearningRateRatio), "grad_clip": String(gradClip),
      "seed": String(seed), "eval_tokens": String(evalTokens), "data": data.joined(separator: ","),
    ]) { $1 }
  }

  /// Checks the settings (the model's included).
  public func validate() throws {
    try model.validate()
    func fail(_ message: String) -> TrainError { .invalid(message) }
    if seqLen < 2 { throw fail("seq_len must be at least 2") }
    if model.maxPositions > 0 && model.maxPositions < seqLen {
      throw fail("seq_len \(seqLen) exceeds the model's \(model.maxPositions) positions")
    }
    if batch < 1 { throw fail("batch must be at least 1") }
    if steps < 1 { throw fail("steps must be at least 1") }
    if !(learningRate > 0) { throw fail("lr must be positive") }
    if weightDecay < 0 { throw fail("weight_decay must be >= 0") }
    if checkpointEvery < 1 || logEvery < 1 { throw fail("checkpoint_every and log_every must be at least 1") }
    for path in data where !FileManager.default.fileExists(atPath: path) {
      throw fail("no such token store: \(path)")
    }
  }
}
