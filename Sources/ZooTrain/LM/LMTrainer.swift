import Foundation
import ZooModel
import ZooStorage
import ZooSupport
import ZooTensor
import ZooTracking

/// What a finished language-model run reports.
public struct LMTrainingResult: Sendable {
  public var steps: Int
  public var lastTrainLoss: Double
  public var evalLoss: Double
  /// Entropy of the training unigram distribution (nats).
  public var unigramEntropy: Double
  /// Loss of the (add-one smoothed) training unigram distribution on the held-out range.
  public var unigramHeldOutLoss: Double
  /// Training tokens per second (forward, backward and AdamW), over the steps of this process.
  public var tokensPerSecond: Double
  public var lossesPath: String
  public var checkpointPath: String
}

/// Trains a ``LanguageModel`` on token stores (`zoo-train lm`): samples windows, steps AdamW,
/// logs to the registry, checkpoints, and on finish evaluates the held-out range in
/// non-overlapping windows and writes `losses.h5` (docs/FORMATS.md, "Per-token losses").
public struct LMTrainer {
  public var config: LMTrainingConfig
  public var run: TrainingRun

  public init(config: LMTrainingConfig, run: TrainingRun) {
    self.config = config
    self.run = run
  }

  /// Metrics logged once, after training: a resumed run logs them again.
  static let endOfRunKeys = ["eval/loss", "eval/unigram_loss", "train/unigram_entropy"]

  public var lossesPath: String { run.directory + "/losses.h5" }

  /// Runs training to the end (or to an interruption, which saves a checkpoint and throws).
  public func train() throws -> LMTrainingResult {
    try config.validate()
    let corpus = try TokenCorpus(paths: config.data, evalTokens: config.evalTokens, windowLength: config.seqLen + 1, vocabSize: config.model.vocabSize)
    let model = try LanguageModel(config: config.model, seed: config.seed)
    let parameters = model.parameters.map(\.tensor)
    let optimizer = AdamW(
      sizes: parameters.map(\.count), learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    var startStep = 0
    if let loaded = try run.checkpointToResume(kind: .lm, config: config) {
      try loaded.restore(into: model, optimizer: optimizer, path: run.checkpointPath)
      startStep = loaded.step
    }
    let spec = RunSpec(name: run.name, kind: .lm, mixer: config.model.mixerLabel, configJSON: config.canonicalJSON, params: config.params)
    let tracked = try run.open(spec, resumingAfter: startStep, redoing: Self.endOfRunKeys)
    return try run.recording(tracked) {
      try train(model: model, optimizer: optimizer, corpus: corpus, from: startStep, tracked: tracked)
    }
  }

  /// The training windows: step → `batch` windows sampled from the corpus, inputs and next tokens.
  struct Windows: BatchSource {
    let corpus: TokenCorpus
    let config: LMTrainingConfig
    var steps: Int { config.steps }

    func batch(at step: Int) -> TrainingBatch {
      let (batch, length) = (config.batch, config.seqLen)
      let windows = corpus.trainingWindows(step: step, batch: batch, length: length + 1, seed: config.seed)
      var inputs = [Int32](repeating: 0, count: batch * length)
      var targets = [Int32](repeating: 0, count: batch * length)
      for b in 0..<batch {
        for t in 0..<length {
          inputs[b * length + t] = Int32(windows[b * (length + 1) + t])
          targets[b * length + t] = Int32(windows[b * (length + 1) + t + 1])
        }
      }
      return TrainingBatch(inputs: inputs, targets: targets, batch: batch, length: length)
    }
  }

  private func train(
    model: LanguageModel, optimizer: AdamW, corpus: TokenCorpus, from startStep: Int, tracked: (any RunTracker)?
  ) throws -> LMTrainingResult {
    let (batch, length) = (config.batch, config.seqLen)
    let progress = Progress(title: run.name, total: Double(config.steps), logInterval: 10, forceTerminal: run.progressOnTerminal)
    let clock = ContinuousClock()
    let started = clock.now
    var lastLoss = Double.nan
    var lossSinceLog = 0.0
    var stepsSinceLog = 0
    let loop = TrainingLoop(
      model: model, optimizer: optimizer, seed: config.seed, threads: run.threads, gradClip: config.gradClip,
      learningRate: config.learningRate(at:), checkpointDue: { $0 % config.checkpointEvery == 0 },
      saveCheckpoint: { step in
        // History first: a run resumed from this checkpoint keeps every point up to its step.
        try tracked?.flush()
        try Checkpoint.save(path: run.checkpointPath, kind: RunKind.lm.rawValue, config: config, step: step, model: model, optimizer: optimizer)
      },
      stopAfterStep: run.stopAfterStep)
    do {
      _ = try loop.run(Windows(corpus: corpus, config: config), from: startStep) { done in
        let step = done.step
        lastLoss = done.loss
        lossSinceLog += done.loss
        stepsSinceLog += 1
        tracked?.logMetric(.trainLoss, step: step, value: done.loss)
        tracked?.logMetric(.trainLearningRate, step: step, value: done.learningRate)
        tracked?.logMetric(.trainGradNorm, step: step, value: done.gradNorm ?? .nan)
        if step % config.logEvery == 0 || step == config.steps {
          let tokens = Double((step - startStep) * batch * length)
          tracked?.logMetric(.trainTokensPerSecond, step: step, value: tokens / max(seconds(since: started, clock), 1e-9))
          progress.update(
            done: Double(step), rates: [.init("tok/s", tokens)],
            detail: String(format: "loss %.4f lr %.2e", lossSinceLog / Double(stepsSinceLog), done.learningRate))
          lossSinceLog = 0
          stepsSinceLog = 0
        }
        return true
      }
    } catch TrainError.nonFinite(let step, let loss) {
      tracked?.logMetric(.trainLoss, step: step, value: loss)
      throw TrainError.nonFinite(step: step, loss: loss)
    }
    let tokensPerSecond = Double((config.steps - startStep) * batch * length) / max(seconds(since: started, clock), 1e-9)
    progress.finish(String(format: "%@: %d steps, last loss %.4f, %.0f tok/s", run.name, config.steps, lastLoss, tokensPerSecond))

    let evaluation = LMEvaluation.evaluate(model: model, tokens: corpus.evalPart.tokens, range: corpus.evalRange, seqLen: length, batch: batch)
    let part = corpus.evalPart
    try LossFile.write(
      path: lossesPath, losses: evaluation.losses, windowStarts: evaluation.windowStarts,
      metadata: LossFileMetadata(
        tokenStore: part.name, tokenStoreSHA256: part.sha256, rangeStart: corpus.evalRange.lowerBound,
        rangeEnd: corpus.evalRange.upperBound, seqLen: length, run: run.name, modelJSON: config.model.canonicalJSON))
    let unigram = corpus.unigramBaselines(vocabSize: config.model.vocabSize)
    tracked?.logMetric(.evalLoss, step: config.steps, value: evaluation.meanLoss)
    tracked?.logMetric(.evalUnigramLoss, step: config.steps, value: unigram.heldOutLoss)
    tracked?.logMetric(.trainUnigramEntropy, step: config.steps, value: unigram.trainEntropy)
    try tracked?.logArtifact(kind: "losses", path: lossesPath)
    try tracked?.logArtifact(kind: "checkpoint", path: run.checkpointPath)
    return LMTrainingResult(
      steps: config.steps, lastTrainLoss: lastLoss, evalLoss: evaluation.meanLoss, unigramEntropy: unigram.trainEntropy,
      unigramHeldOutLoss: unigram.heldOutLoss,
      tokensPerSecond: tokensPerSecond, lossesPath: lossesPath, checkpointPath: run.checkpointPath)
  }

  private func seconds(since start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
    let c = (clock.now - start).components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
  }
}
