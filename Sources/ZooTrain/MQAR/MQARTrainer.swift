import Foundation
import ZooModel
import ZooRegistry
import ZooSupport
import ZooTensor

/// An MQAR run's settings (Zoology's `basic.py` defaults: 10,000 training and 1,000 test
/// examples, batch 32, AdamW lr 1e-3 and weight decay 0.1, cosine over epochs to 0, early stop
/// once test accuracy reaches 0.99).
public struct MQARTrainingConfig: Codable, Equatable, Sendable {
  /// Zoology's MQAR models drop 10 % of the embeddings and of the attention probabilities.
  public static let zoologyDropout: Float = 0.1

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

  /// Flat params for the registry (what `queries/mqar_accuracy_by_d_model.sql` reads).
  public var params: [String: String] {
    [
      "d_model": String(model.dModel), "layers": String(model.layers), "lr": String(learningRate),
      "seq_len": String(data.seqLen), "num_kv_pairs": String(data.numKVPairs), "vocab_size": String(data.vocabSize),
      "epochs": String(epochs), "batch": String(batch), "train_examples": String(trainExamples),
      "test_examples": String(testExamples), "seed": String(seed), "data_seed": String(dataSeed),
    ]
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
    if !(learningRate > 0) { throw fail("--lr must be positive") }
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
/// computed only at labeled (query) positions.
public struct MQARTrainer {
  public var config: MQARTrainingConfig
  public var name: String
  public var tracker: (any ExperimentTracker)?
  public var progressOnTerminal: Bool? = nil

  public init(config: MQARTrainingConfig, name: String, tracker: (any ExperimentTracker)?) {
    self.config = config
    self.name = name
    self.tracker = tracker
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
    let run = try tracker?.startRun(
      RunSpec(name: name, kind: .mqar, mixer: config.model.mixer, configJSON: config.json, params: config.params))
    do {
      let result = try loop(model: model, optimizer: optimizer, train: train, tests: tests, run: run)
      try run?.finish(.finished)
      return result
    } catch {
      try? run?.finish(Interrupt.requested ? .killed : .failed)
      throw error
    }
  }

  private func loop(
    model: LanguageModel, optimizer: AdamW, train: MQARExamples, tests: [MQARExamples], run: (any RunTracker)?
  ) throws -> MQARResult {
    let parameters = model.parameters.map(\.tensor)
    let length = config.data.seqLen
    let progress = Progress(title: name, total: Double(config.epochs), logInterval: 0, forceTerminal: progressOnTerminal)
    var result = MQARResult(
      epochs: 0, accuracy: 0, bestAccuracy: 0, testLoss: .nan, tokensPerSecond: 0, secondsPerEpoch: 0, sliceAccuracy: [:])
    var trainSeconds = 0.0
    var step = 0
    for epoch in 0..<config.epochs {
      // Cosine over epochs to 0 (PyTorch CosineAnnealingLR stepped per epoch).
      optimizer.learningRate = Float(config.learningRate * 0.5 * (1 + cos(Double.pi * Double(epoch) / Double(config.epochs))))
      let started = ContinuousClock.now
      var lossSum = 0.0
      var batches = 0
      var start = 0
      while start < train.count {
        if Interrupt.requested { throw TrainError.interrupted(step: step) }
        let n = min(config.batch, train.count - start)
        let inputs = Array(train.inputs[(start * length)..<((start + n) * length)])
        let targets = Array(train.targets[(start * length)..<((start + n) * length)]).map { $0 < 0 ? -1 : $0 }
        let tape = Tape(dropoutSeed: config.seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
        let out = model.loss(inputs: inputs, targets: targets, batch: n, length: length, tape: tape)
        guard out.mean.isFinite else { throw TrainError.nonFinite(step: step, loss: out.mean) }
        tape.backward()
        optimizer.update(parameters)
        model.zeroGradients()
        lossSum += out.mean
        batches += 1
        step += 1
        start += n
      }
      let elapsed = (ContinuousClock.now - started).components
      let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
      trainSeconds += seconds
      // Test every slice.
      var correct = 0
      var labeled = 0
      var lossTotal = 0.0
      for (task, test) in zip(config.testTasks, tests) {
        let e = evaluate(model: model, examples: test)
        correct += e.correct
        labeled += e.labeled
        lossTotal += e.lossSum
        let accuracy = Double(e.correct) / Double(max(1, e.labeled))
        result.sliceAccuracy[MQARTrainingConfig.sliceName(task)] = accuracy
        if tests.count > 1 {
          run?.logMetric(.evalAccuracy(slice: MQARTrainingConfig.sliceName(task)), step: epoch, value: accuracy)
        }
      }
      let accuracy = Double(correct) / Double(max(1, labeled))
      result.epochs = epoch + 1
      result.accuracy = accuracy
      result.bestAccuracy = max(result.bestAccuracy, accuracy)
      result.testLoss = lossTotal / Double(max(1, labeled))
      run?.logMetric(.trainLoss, step: epoch, value: lossSum / Double(batches))
      run?.logMetric(.trainEpochSeconds, step: epoch, value: seconds)
      run?.logMetric(.evalLoss, step: epoch, value: result.testLoss)
      run?.logMetric(.evalAccuracy, step: epoch, value: accuracy)
      try run?.flush()
      progress.update(
        done: Double(epoch + 1), rates: [.init("tok/s", Double(step * config.batch * length))],
        detail: String(format: "epoch %d acc %.4f loss %.4f (%.1fs)", epoch, accuracy, lossSum / Double(batches), seconds))
      if accuracy >= config.targetAccuracy { break }
    }
    result.secondsPerEpoch = trainSeconds / Double(result.epochs)
    result.tokensPerSecond = Double(config.trainExamples * length * result.epochs) / max(trainSeconds, 1e-9)
    progress.finish(
      String(format: "%@: accuracy %.4f after %d epochs (%.1f s/epoch)", name, result.accuracy, result.epochs, result.secondsPerEpoch))
    return result
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
