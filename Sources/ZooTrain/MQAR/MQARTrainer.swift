import Foundation
import ZooModel
import ZooSupport
import ZooTensor
import ZooTracking

/// An MQAR run's settings (Zoology's `basic.py` defaults: 10,000 training and 1,000 test
/// examples, batch 32, AdamW lr 1e-3 and weight decay 0.1, cosine over epochs to 0, early stop
/// once test accuracy reaches 0.99).
public struct MQARTrainingConfig: Codable, Equatable, Sendable {
  /// Zoology's MQAR models drop 10 % of the embeddings and of the attention probabilities.
  public static let zoologyDropout: Float = 0.1
  /// The mixer options MQAR runs default to (on the layers whose mixer has them).
  public static let zoologyMixerDefaults: [String: JSONValue] = ["attn_dropout": .double(Double(zoologyDropout))]

  public var model: ModelConfig
  /// The training task.
  public var data: MQARConfig
  /// Test tasks (each a slice in the metrics); default: the training task.
  public var testTasks: [MQARConfig]
  public var trainExamples: Int
  public var testExamples: Int
  public var batch: Int
  public var epochs: Int
  public var learningRate: Double
  public var weightDecay: Double
  /// Stop once test accuracy reaches this.
  public var targetAccuracy: Double
  /// Model initialization seed.
  public var seed: UInt64
  /// Data seed: training examples use it, test examples a seed derived from it.
  public var dataSeed: UInt64

  enum CodingKeys: String, CodingKey {
    case model, data, batch, epochs, seed
    case testTasks = "test_tasks"
    case trainExamples = "train_examples"
    case testExamples = "test_examples"
    case learningRate = "lr"
    case weightDecay = "weight_decay"
    case targetAccuracy = "target_accuracy"
    case dataSeed = "data_seed"
  }

  public init(
    model: ModelConfig, data: MQARConfig, testTasks: [MQARConfig]? = nil, trainExamples: Int = 10_000,
    testExamples: Int = 1_000, batch: Int = 32, epochs: Int = 64, learningRate: Double = 1e-3, weightDecay: Double = 0.1,
    targetAccuracy: Double = 0.99, seed: UInt64 = 1, dataSeed: UInt64 = 123
  ) {
    self.model = model
    self.data = data
    self.testTasks = testTasks ?? [data]
    self.trainExamples = trainExamples
    self.testExamples = testExamples
    self.batch = batch
    self.epochs = epochs
    self.learningRate = learningRate
    self.weightDecay = weightDecay
    self.targetAccuracy = targetAccuracy
    self.seed = seed
    self.dataSeed = dataSeed
  }

  /// Canonical JSON (sorted keys).
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try! encoder.encode(self), as: UTF8.self)
  }

  /// Flat params for the registry (what `queries/mqar_accuracy_by_d_model.sql` reads): the model's
  /// (``ModelConfig/params``, every mixer option included) and the task's and optimizer's.
  public var params: [String: String] {
    model.params.merging([
      "lr": String(learningRate), "seq_len": String(data.seqLen), "num_kv_pairs": String(data.numKVPairs),
      "vocab_size": String(data.vocabSize), "random_non_queries": String(data.randomNonQueries),
      "epochs": String(epochs), "batch": String(batch), "train_examples": String(trainExamples),
      "test_examples": String(testExamples), "seed": String(seed), "data_seed": String(dataSeed),
      "weight_decay": String(weightDecay), "target_accuracy": String(targetAccuracy),
      "test_tasks": testTasks.map(Self.sliceName).joined(separator: ","),
    ]) { $1 }
  }

  /// Checks the settings.
  public func validate() throws {
    try model.validate()
    for task in [data] + testTasks { try task.validate() }
    func fail(_ message: String) -> TrainError { .invalid(message) }
    let longest = ([data] + testTasks).map(\.seqLen).max()!
    if model.maxPositions > 0 && model.maxPositions < longest { throw fail("seq_len \(longest) exceeds the model's positions") }
    if model.vocabSize < data.vocabSize { throw fail("model vocabulary smaller than the task's") }
    if trainExamples < 1 || testExamples < 1 || batch < 1 || epochs < 1 {
      throw fail("train/test examples, batch and epochs must be positive")
    }
    if !(learningRate > 0) { throw fail("lr must be positive") }
  }

  /// Metric key suffix of a test task: `L64-kv4`.
  public static func sliceName(_ task: MQARConfig) -> String { "L\(task.seqLen)-kv\(task.numKVPairs)" }
}

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
  public var name: String
  /// `runs/<name>`: the checkpoint.
  public var runDirectory: String
  public var tracker: (any ExperimentTracker)?
  /// Continue the registry run (which must exist) from the checkpoint in `runDirectory` when
  /// there is one, else from step 0.
  public var resume = false
  public var progressOnTerminal: Bool? = nil
  /// Stop before this step as if interrupted (tests of `resume`); nil = run to the end.
  public var stopAfterStep: Int?
  /// Threads of each training step (the weights do not depend on it).
  public var threads = Compute.threads

  public init(config: MQARTrainingConfig, name: String, runDirectory: String, tracker: (any ExperimentTracker)?) {
    self.config = config
    self.name = name
    self.runDirectory = runDirectory
    self.tracker = tracker
  }

  public var checkpointPath: String { runDirectory + "/checkpoint.bin" }

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

  public func run() throws -> MQARResult {
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
    if resume, FileManager.default.fileExists(atPath: checkpointPath) {
      let loaded = try Checkpoint.load(path: checkpointPath, as: MQARTrainingConfig.self)
      guard loaded.kind == RunKind.mqar.rawValue, loaded.config == config else {
        throw TrainError.invalid("\(checkpointPath) was written with another config")
      }
      try loaded.restore(into: model, optimizer: optimizer, path: checkpointPath)
      progress = LoopState(step: loaded.step, values: loaded.state)
    }
    try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
    AtomicFile.removeStaleTemporaries(in: runDirectory, reportAs: "zoo-train")
    let epochsLogged = progress.step / source.stepsPerEpoch
    let run: (any RunTracker)? =
      if resume { try tracker?.resumeRun(named: name, after: epochsLogged - 1, redoing: []) } else {
        try tracker?.startRun(
          RunSpec(name: name, kind: .mqar, mixer: config.model.mixerLabel, configJSON: config.json, params: config.params))
      }
    do {
      let result = try loop(model: model, optimizer: optimizer, source: source, tests: tests, from: progress, run: run)
      try run?.finish(.finished)
      return result
    } catch {
      if case .interrupted? = error as? TrainError { try? run?.finish(.killed) } else { try? run?.finish(.failed) }
      throw error
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
    run: (any RunTracker)?
  ) throws -> MQARResult {
    let length = config.data.seqLen
    let bar = Progress(title: name, total: Double(config.epochs), logInterval: 0, forceTerminal: progressOnTerminal)
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
        model: model, optimizer: optimizer, seed: config.seed, threads: threads, gradClip: nil,
        // Cosine over epochs to 0 (PyTorch CosineAnnealingLR stepped per epoch).
        learningRate: { step in
          config.learningRate * 0.5 * (1 + cos(Double.pi * Double(step / source.stepsPerEpoch) / Double(config.epochs)))
        },
        checkpointDue: { $0 % source.stepsPerEpoch == 0 },
        saveCheckpoint: { step in
          try run?.flush()
          state.step = step
          try Checkpoint.save(
            path: checkpointPath, kind: RunKind.mqar.rawValue, config: config, step: step, state: state.values, model: model,
            optimizer: optimizer)
        },
        stopAfterStep: stopAfterStep)
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
          if tests.count > 1 { run?.logMetric(.evalAccuracy(slice: MQARTrainingConfig.sliceName(task)), step: epoch, value: accuracy) }
        }
        let accuracy = Double(correct) / Double(max(1, labeled))
        let trainLoss = state["epoch_loss_sum"] / state["epoch_batches"]
        state["epochs"] = Double(epoch + 1)
        state["accuracy"] = accuracy
        state["best_accuracy"] = max(state["best_accuracy"], accuracy)
        state["test_loss"] = lossTotal / Double(max(1, labeled))
        state["epoch_loss_sum"] = 0
        state["epoch_batches"] = 0
        run?.logMetric(.trainLoss, step: epoch, value: trainLoss)
        run?.logMetric(.trainEpochSeconds, step: epoch, value: seconds)
        run?.logMetric(.evalLoss, step: epoch, value: state["test_loss"])
        run?.logMetric(.evalAccuracy, step: epoch, value: accuracy)
        bar.update(
          done: Double(epoch + 1), rates: [.init("tok/s", Double(done.step * config.batch * length))],
          detail: String(format: "epoch %d acc %.4f loss %.4f (%.1fs)", epoch, accuracy, trainLoss, seconds))
        epochStarted = ContinuousClock.now
        if accuracy >= config.targetAccuracy { state["stopped"] = 1 }
        return accuracy < config.targetAccuracy
      }
    }
    let out = result()
    bar.finish(String(format: "%@: accuracy %.4f after %d epochs (%.1f s/epoch)", name, out.accuracy, out.epochs, out.secondsPerEpoch))
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
