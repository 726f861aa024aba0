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
  public var name: String
  /// `runs/<name>`: checkpoint and losses.
  public var runDirectory: String
  public var tracker: (any ExperimentTracker)?
  /// Continue the registry run (which must exist), from the checkpoint in `runDirectory` when
  /// there is one, else from step 0.
  public var resume = false
  /// nil: bar on a terminal, log lines otherwise; false: log lines always; true: bar always.
  public var progressOnTerminal: Bool? = nil
  /// Stop after this many steps as if interrupted (tests of `--resume`); nil = run to the end.
  public var stopAfterStep: Int?
  /// Threads of each training step (the weights do not depend on it).
  public var threads = Compute.threads

  public init(config: LMTrainingConfig, name: String, runDirectory: String, tracker: (any ExperimentTracker)?) {
    self.config = config
    self.name = name
    self.runDirectory = runDirectory
    self.tracker = tracker
  }

  /// Metrics logged once, after training: a resumed run logs them again.
  static let endOfRunKeys = ["eval/loss", "eval/unigram_loss", "train/unigram_entropy"]

  public var checkpointPath: String { runDirectory + "/checkpoint.bin" }
  public var lossesPath: String { runDirectory + "/losses.h5" }

  /// Runs training to the end (or to an interruption, which saves a checkpoint and throws).
  public func run() throws -> LMTrainingResult {
    try config.validate()
    let corpus = try TokenCorpus(paths: config.data, evalTokens: config.evalTokens, windowLength: config.seqLen + 1, vocabSize: config.model.vocabSize)
    let model = try LanguageModel(config: config.model, seed: config.seed)
    let parameters = model.parameters.map(\.tensor)
    let optimizer = AdamW(
      sizes: parameters.map(\.count), learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    var startStep = 0
    if resume, FileManager.default.fileExists(atPath: checkpointPath) {
      let loaded = try Checkpoint.load(path: checkpointPath, as: LMTrainingConfig.self)
      guard loaded.config == config else { throw TrainError.invalid("\(checkpointPath) was written with another config") }
      try loaded.restore(into: model, optimizer: optimizer, path: checkpointPath)
      startStep = loaded.step
    }
    try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
    AtomicFile.removeStaleTemporaries(in: runDirectory, reportAs: "zoo-train")
    let run: (any RunTracker)? =
      if resume { try tracker?.resumeRun(named: name, after: startStep, redoing: Self.endOfRunKeys) } else {
        try tracker?.startRun(RunSpec(name: name, kind: .lm, mixer: config.model.mixerLabel, configJSON: config.json, params: config.params))
      }
    do {
      let result = try train(model: model, optimizer: optimizer, corpus: corpus, from: startStep, run: run)
      try run?.finish(.finished)
      return result
    } catch let error as TrainError {
      if case .nonFinite(let step, let loss) = error { run?.logMetric(.trainLoss, step: step, value: loss) }
      if case .interrupted = error { try? run?.finish(.killed) } else { try? run?.finish(.failed) }
      throw error
    } catch {
      try? run?.finish(.failed)
      throw error
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
    model: LanguageModel, optimizer: AdamW, corpus: TokenCorpus, from startStep: Int, run: (any RunTracker)?
  ) throws -> LMTrainingResult {
    let (batch, length) = (config.batch, config.seqLen)
    let progress = Progress(title: name, total: Double(config.steps), logInterval: 10, forceTerminal: progressOnTerminal)
    let clock = ContinuousClock()
    let started = clock.now
    var lastLoss = Double.nan
    var lossSinceLog = 0.0
    var stepsSinceLog = 0
    let loop = TrainingLoop(
      model: model, optimizer: optimizer, seed: config.seed, threads: threads, gradClip: config.gradClip,
      learningRate: config.learningRate(at:), checkpointDue: { $0 % config.checkpointEvery == 0 },
      saveCheckpoint: { step in
        // History first: a run resumed from this checkpoint keeps every point up to its step.
        try run?.flush()
        try Checkpoint.save(path: checkpointPath, kind: RunKind.lm.rawValue, config: config, step: step, model: model, optimizer: optimizer)
      },
      stopAfterStep: stopAfterStep)
    _ = try loop.run(Windows(corpus: corpus, config: config), from: startStep) { done in
      let step = done.step
      lastLoss = done.loss
      lossSinceLog += done.loss
      stepsSinceLog += 1
      run?.logMetric(.trainLoss, step: step, value: done.loss)
      run?.logMetric(.trainLearningRate, step: step, value: done.learningRate)
      run?.logMetric(.trainGradNorm, step: step, value: done.gradNorm ?? .nan)
      if step % config.logEvery == 0 || step == config.steps {
        let tokens = Double((step - startStep) * batch * length)
        run?.logMetric(.trainTokensPerSecond, step: step, value: tokens / max(seconds(since: started, clock), 1e-9))
        progress.update(
          done: Double(step), rates: [.init("tok/s", tokens)],
          detail: String(format: "loss %.4f lr %.2e", lossSinceLog / Double(stepsSinceLog), done.learningRate))
        lossSinceLog = 0
        stepsSinceLog = 0
      }
      return true
    }
    let tokensPerSecond = Double((config.steps - startStep) * batch * length) / max(seconds(since: started, clock), 1e-9)
    progress.finish(String(format: "%@: %d steps, last loss %.4f, %.0f tok/s", name, config.steps, lastLoss, tokensPerSecond))

    let evaluation = LMEvaluation.evaluate(model: model, tokens: corpus.evalPart.tokens, range: corpus.evalRange, seqLen: length, batch: batch)
    let part = corpus.evalPart
    try LossFile.write(
      path: lossesPath, losses: evaluation.losses, windowStarts: evaluation.windowStarts,
      metadata: LossFileMetadata(
        tokenStore: part.name, tokenStoreSHA256: part.sha256, rangeStart: corpus.evalRange.lowerBound,
        rangeEnd: corpus.evalRange.upperBound, seqLen: length, run: name, modelJSON: config.model.json))
    let unigram = corpus.unigramBaselines(vocabSize: config.model.vocabSize)
    run?.logMetric(.evalLoss, step: config.steps, value: evaluation.meanLoss)
    run?.logMetric(.evalUnigramLoss, step: config.steps, value: unigram.heldOutLoss)
    run?.logMetric(.trainUnigramEntropy, step: config.steps, value: unigram.trainEntropy)
    try run?.logArtifact(kind: "losses", path: lossesPath)
    try run?.logArtifact(kind: "checkpoint", path: checkpointPath)
    return LMTrainingResult(
      steps: config.steps, lastTrainLoss: lastLoss, evalLoss: evaluation.meanLoss, unigramEntropy: unigram.trainEntropy,
      unigramHeldOutLoss: unigram.heldOutLoss,
      tokensPerSecond: tokensPerSecond, lossesPath: lossesPath, checkpointPath: checkpointPath)
  }

  private func seconds(since start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
    let c = (clock.now - start).components
    return Double(c.seconds) + Double(c.attoseconds) / 1e18
  }
}
