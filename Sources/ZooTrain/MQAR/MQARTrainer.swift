import Foundation
import ZooModel
import ZooSupport
import ZooTensor
import ZooTracking

/// What an MQAR run reports.
public struct MQARResult: Sendable {
  public var epochs: Int
  public var accuracy: Double
  public var bestAccuracy: Double
  public var testLoss: Double
  /// Training tokens per second (all positions of the inputs).
  public var tokensPerSecond: Double
  /// Mean seconds per training epoch.
  public var secondsPerEpoch: Double
  public var sliceAccuracy: [String: Double]
}

/// Trains a model on MQAR (`zoo-train mqar`): fixed-order batches as Zoology (no shuffling),
/// accuracy at query positions after every epoch, early stop at the target accuracy. The head is
/// computed only at labeled (query) positions. A checkpoint after every epoch (and at Ctrl-C or
/// SIGTERM, mid-epoch) lets a killed run resume and end with the same weights and metrics.
public struct MQARTrainer {
  public var config: MQARTrainingConfig
  public var run: TrainingRun

  public init(config: MQARTrainingConfig, run: TrainingRun) {
    self.config = config
    self.run = run
  }

  /// The training examples in fixed order, epoch after epoch; the last batch of an epoch may be short.
  struct Epochs: BatchSource {
    let examples: MQARExamples
    let batchSize: Int
    let epochs: Int
    var stepsPerEpoch: Int { (examples.count + batchSize - 1) / batchSize }
    var steps: Int { epochs * stepsPerEpoch }

    func batch(at step: Int) -> TrainingBatch {
      let length = examples.seqLen
      let start = (step % stepsPerEpoch) * batchSize
      let n = min(batchSize, examples.count - start)
      let inputs = Array(examples.inputs[(start * length)..<((start + n) * length)])
      let targets = Array(examples.targets[(start * length)..<((start + n) * length)]).map { $0 < 0 ? -1 : $0 }
      return TrainingBatch(inputs: inputs, targets: targets, batch: n, length: length)
    }
  }

  public func train() throws -> MQARResult {
    try config.validate()
    let train = try MQARGenerator.generate(config.data, count: config.trainExamples, seed: config.dataSeed)
    let tests = try config.testTasks.enumerated().map { i, task in
      try MQARGenerator.generate(task, count: config.testExamples, seed: config.dataSeed &+ 0x7E57 &+ UInt64(i) &* 7919)
    }
    let model = try LanguageModel(config: config.model, seed: config.seed)
    let parameters = model.parameters.map(\.tensor)
    let optimizer = AdamW(
      sizes: parameters.map(\.count), learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    let source = Epochs(examples: train, batchSize: config.batch, epochs: config.epochs)
    var progress = LoopState()
    if let loaded = try run.checkpointToResume(kind: .mqar, config: config) {
      try loaded.restore(into: model, optimizer: optimizer, path: run.checkpointPath)
      progress = LoopState(step: loaded.step, values: loaded.state)
    }
    let spec = RunSpec(name: run.name, kind: .mqar, mixer: config.model.mixerLabel, configJSON: config.canonicalJSON, params: config.params)
    let tracked = try run.open(spec, resumingAfter: progress.step / source.stepsPerEpoch - 1, redoing: [])
    return try run.recording(tracked) {
      try loop(model: model, optimizer: optimizer, source: source, tests: tests, from: progress, tracked: tracked)
    }
  }

  /// What the loop carries between steps besides the weights (epoch loss so far, best accuracy,
  /// the last evaluation, ...), saved in the checkpoint's `state`.
  struct LoopState {
    var step = 0
    var values: [String: Double] = [:]
    subscript(_ key: String) -> Double {
      get { values[key] ?? 0 }
      set { values[key] = newValue }
    }
  }

  private func loop(
    model: LanguageModel, optimizer: AdamW, source: Epochs, tests: [MQARExamples], from saved: LoopState,
    tracked: (any RunTracker)?
  ) throws -> MQARResult {
    let length = config.data.seqLen
    let bar = Progress(title: run.name, total: Double(config.epochs), logInterval: 0, forceTerminal: run.progressOnTerminal)
    var state = saved
    var epochStarted = ContinuousClock.now
    func result() -> MQARResult {
      let epochs = Int(state["epochs"])
      return MQARResult(
        epochs: epochs, accuracy: state["accuracy"], bestAccuracy: state["best_accuracy"], testLoss: state.values["test_loss"] ?? .nan,
        tokensPerSecond: Double(config.trainExamples * length * epochs) / max(state["train_seconds"], 1e-9),
        secondsPerEpoch: state["train_seconds"] / Double(max(1, epochs)),
        sliceAccuracy: Dictionary(uniqueKeysWithValues: state.values.compactMap { key, value in
          key.hasPrefix("slice:") ? (String(key.dropFirst(6)), value) : nil
        }))
    }
    if state["stopped"] == 0 {
      let training = TrainingLoop(
        model: model, optimizer: optimizer, seed: config.seed, threads: run.threads, gradClip: nil,
        // Cosine over epochs to 0 (PyTorch CosineAnnealingLR stepped per epoch).
        learningRate: { step in
          config.learningRate * 0.5 * (1 + cos(Double.pi * Double(step / source.stepsPerEpoch) / Double(config.epochs)))
        },
        checkpointDue: { $0 % source.stepsPerEpoch == 0 },
        saveCheckpoint: { step in
          try tracked?.flush()
          state.step = step
          try Checkpoint.save(
            path: run.checkpointPath, kind: RunKind.mqar.rawValue, config: config, step: step, state: state.values, model: model,
            optimizer: optimizer)
        },
        stopAfterStep: run.stopAfterStep)
      _ = try training.run(source, from: state.step) { done in
        state["epoch_loss_sum"] += done.loss
        state["epoch_batches"] += 1
        guard done.step % source.stepsPerEpoch == 0 else { return true }
        let epoch = done.step / source.stepsPerEpoch - 1
        let elapsed = (ContinuousClock.now - epochStarted).components
        let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
        state["train_seconds"] += seconds
        var correct = 0
        var labeled = 0
        var lossTotal = 0.0
        for (task, test) in zip(config.testTasks, tests) {
          let e = evaluate(model: model, examples: test)
          correct += e.correct
          labeled += e.labeled
          lossTotal += e.lossSum
          let accuracy = Double(e.correct) / Double(max(1, e.labeled))
          state["slice:" + MQARTrainingConfig.sliceName(task)] = accuracy
          if tests.count > 1 { tracked?.logMetric(.evalAccuracy(slice: MQARTrainingConfig.sliceName(task)), step: epoch, value: accuracy) }
        }
        let accuracy = Double(correct) / Double(max(1, labeled))
        let trainLoss = state["epoch_loss_sum"] / state["epoch_batches"]
        state["epochs"] = Double(epoch + 1)
        state["accuracy"] = accuracy
        state["best_accuracy"] = max(state["best_accuracy"], accuracy)
        state["test_loss"] = lossTotal / Double(max(1, labeled))
        state["epoch_loss_sum"] = 0
        state["epoch_batches"] = 0
        tracked?.logMetric(.trainLoss, step: epoch, value: trainLoss)
        tracked?.logMetric(.trainEpochSeconds, step: epoch, value: seconds)
        tracked?.logMetric(.evalLoss, step: epoch, value: state["test_loss"])
        tracked?.logMetric(.evalAccuracy, step: epoch, value: accuracy)
        bar.update(
          done: Double(epoch + 1), rates: [.init("tok/s", Double(done.step * config.batch * length))],
          detail: String(format: "epoch %d acc %.4f loss %.4f (%.1fs)", epoch, accuracy, trainLoss, seconds))
        epochStarted = ContinuousClock.now
        if accuracy >= config.targetAccuracy { state["stopped"] = 1 }
        return accuracy < config.targetAccuracy
      }
    }
    let out = result()
    bar.finish(String(format: "%@: accuracy %.4f after %d epochs (%.1f s/epoch)", run.name, out.accuracy, out.epochs, out.secondsPerEpoch))
    return out
  }

  /// Accuracy and loss at the query positions of `examples`.
  func evaluate(model: LanguageModel, examples: MQARExamples) -> (correct: Int, labeled: Int, lossSum: Double) {
    let length = examples.seqLen
    var correct = 0
    var labeled = 0
    var lossSum = 0.0
    var start = 0
    while start < examples.count {
      let n = min(config.batch, examples.count - start)
      let inputs = Array(examples.inputs[(start * length)..<((start + n) * length)])
      let targets = Array(examples.targets[(start * length)..<((start + n) * length)]).map { $0 < 0 ? -1 : $0 }
      let out = model.loss(inputs: inputs, targets: targets, batch: n, length: length, tape: Tape(recording: false))
      correct += out.correct
      labeled += out.labeled
      lossSum += out.mean * Double(out.labeled)
      start += n
    }
    return (correct, labeled, lossSum)
  }
}
