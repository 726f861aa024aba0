import ZooModel
import ZooSupport
import ZooTensor

/// What one optimizer step did.
public struct StepResult: Sendable {
  /// Steps done, this one included.
  public var step: Int
  public var loss: Double
  public var learningRate: Double
  /// The global gradient norm before clipping; nil when the run does not clip.
  public var gradNorm: Double?
}

/// The loop both trainers run (`zoo-train lm` over sampled windows, `zoo-train mqar` over epochs
/// of fixed-order examples): for each step, the batch from the source, forward and backward
/// (dropout masks drawn from the seed and the step), gradient clipping where the run clips, an AdamW update
/// at the step's learning rate. Between steps it checks for Ctrl-C and SIGTERM: it then saves a
/// checkpoint and throws ``TrainError/interrupted(step:)``, so the run can be resumed and ends
/// with the same bits as one never stopped.
struct TrainingLoop {
  let model: LanguageModel
  let optimizer: AdamW
  let seed: UInt64
  /// Global gradient-norm clip: 0 measures the norm without clipping, nil skips it (MQAR, as Zoology).
  var gradClip: Double?
  /// The learning rate of step `step` (0-based).
  var learningRate: (Int) -> Double
  /// Whether to checkpoint after `step` steps (the last step and an early stop always do).
  var checkpointDue: (Int) -> Bool
  /// Saves the checkpoint after `step` steps (the trainer flushes its metrics first).
  var saveCheckpoint: (Int) throws -> Void
  /// Stop as if interrupted before this step (tests of resuming).
  var stopAfterStep: Int?

  /// Runs the steps from `start` to the source's end; after each, `afterStep` logs and returns
  /// false to stop early (MQAR's target accuracy). Returns the steps done.
  func run(_ source: some BatchSource, from start: Int, afterStep: (StepResult) throws -> Bool) throws -> Int {
    let parameters = model.parameters.map(\.tensor)
    var step = start
    while step < source.steps {
      if Interrupt.requested || step == stopAfterStep {
        try saveCheckpoint(step)
        throw TrainError.interrupted(step: step)
      }
      let lr = learningRate(step)
      optimizer.learningRate = Float(lr)
      let batch = source.batch(at: step)
      let tape = Tape(dropoutSeed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
      let out = model.loss(inputs: batch.inputs, targets: batch.targets, batch: batch.batch, length: batch.length, tape: tape)
      guard out.mean.isFinite else { throw TrainError.nonFinite(step: step, loss: out.mean) }
      tape.backward()
      let norm = gradClip.map { GradientClipping.clip(parameters, maxNorm: $0) }
      optimizer.update(parameters)
      model.zeroGradients()
      step += 1
      let goOn = try afterStep(StepResult(step: step, loss: out.mean, learningRate: lr, gradNorm: norm))
      if !goOn || step == source.steps || checkpointDue(step) { try saveCheckpoint(step) }
      if !goOn { break }
    }
    return step
  }
}
