import ZooModel
import ZooSupport

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
