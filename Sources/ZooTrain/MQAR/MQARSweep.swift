import Foundation
import ZooModel
import ZooSupport

/// One run of a sweep: the registry name and the configuration it trains.
public struct SweepRun: Sendable, Equatable {
  public var name: String
  public var config: MQARTrainingConfig
}

/// A declarative MQAR sweep (Zoology Figure 2): mixers × d_model × learning rate × (seq_len,
/// kv pairs), read from JSON. Each point becomes one MQAR run (``SweepRun``) whose name is derived
/// from the point, so a re-run skips what the registry already has as finished.
///
/// ```json
/// {
///   "name": "fig2-cpu",
///   "vocab_size": 8192,
///   "mixers": ["attention", "base_conv", {"label": "based", "mixer": "base_conv,based", "feature_dim": 8}],
///   "d_models": [64, 128],
///   "learning_rates": [0.0001, 0.001],
///   "tasks": [{"seq_len": 64, "num_kv_pairs": 4}, {"seq_len": 128, "num_kv_pairs": 8}],
///   "layers": 2, "epochs": 32, "batch_size": 64,
///   "train_examples": 20000, "test_examples": 1000, "seed": 123,
///   "hidden_mult": 0, "positions_for": ["attention"], "random_non_queries": false
/// }
/// ```
/// A mixer is a mixer name (or a per-layer list), or an object with a `label` (used in run names), the
/// `mixer` (a per-layer list is allowed) and its options by their catalogue names (`feature_dim`,
/// `kernel_size`, ...: see `zoo-train mqar --help`); a key no listed mixer has is an error.
/// `hidden_mult` (default 0: no MLP), `positions_for` (mixers with learned position embeddings,
/// default attention only) and `random_non_queries` (default false: filler tokens stay 0) follow
/// Zoology's Figure 2.
public struct MQARSweep: Codable, Sendable, Equatable {
  /// One (sequence length, kv pairs) task.
  public struct Task: Codable, Sendable, Equatable, Hashable {
    /// Input length.
    public var seqLen: Int
    /// Key–value pairs per example.
    public var numKVPairs: Int
    /// Training examples for this task, overriding the sweep's (longer tasks carry more labels
    /// per example, so they need fewer).
    public var trainExamples: Int?

    enum CodingKeys: String, CodingKey {
      case seqLen = "seq_len"
      case numKVPairs = "num_kv_pairs"
      case trainExamples = "train_examples"
    }

    /// A task.
    public init(seqLen: Int, numKVPairs: Int, trainExamples: Int? = nil) {
      self.seqLen = seqLen
      self.numKVPairs = numKVPairs
      self.trainExamples = trainExamples
    }
  }

  /// A mixer of the sweep and its options.
  public struct Mixer: Codable, Sendable, Equatable, Hashable {
    /// Name in run names (no commas).
    public var label: String
    /// A mixer or a per-layer list, comma-separated.
    public var mixer: String
    /// Mixer options by name (``MixerCatalogue``): a value for every layer whose mixer has the
    /// option, or a list with one per layer, cycling.
    public var options: [String: JSONValue]

    /// A mixer with default options, labeled by its name (commas become `+`).
    public init(_ mixer: String, options: [String: JSONValue] = [:]) {
      self.mixer = mixer
      self.options = options
      label = mixer.replacingOccurrences(of: ",", with: "+")
    }

    /// Reads a bare name, or an object with `mixer`, an optional `label` and options.
    public init(from decoder: any Decoder) throws {
      if let name = try? decoder.singleValueContainer().decode(String.self) {
        self.init(name)
        return
      }
      var object = try decoder.singleValueContainer().decode([String: JSONValue].self)
      guard case .string(let mixer)? = object.removeValue(forKey: "mixer") else {
        throw DecodingError.keyNotFound(
          AnyCodingKey("mixer"), .init(codingPath: decoder.codingPath, debugDescription: "a mixer object needs \"mixer\""))
      }
      let label = object.removeValue(forKey: "label")
      self.init(mixer, options: object)
      if let label {
        guard case .string(let text) = label else {
          throw DecodingError.typeMismatch(
            String.self, .init(codingPath: decoder.codingPath + [AnyCodingKey("label")], debugDescription: "a label is a string"))
        }
        self.label = text
      }
    }

    public func encode(to encoder: any Encoder) throws {
      var object = options
      object["mixer"] = .string(mixer)
      object["label"] = .string(label)
      try JSONValue.object(object).encode(to: encoder)
    }

    /// The layers of a model of `layers` blocks with this mixer and its options over MQAR's defaults.
    func layers(_ layers: Int) throws -> [any MixerConfig] {
      let names = mixer.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      return try MixerCatalogue.layers(
        names: names, count: layers, options: options, defaults: MQARTrainingConfig.zoologyMixerDefaults)
    }
  }

  /// One grid point.
  public struct Point: Sendable, Equatable, Hashable {
    /// The mixer and its options.
    public var mixer: Mixer
    /// Model width.
    public var dModel: Int
    /// Peak learning rate.
    public var learningRate: Double
    /// The task.
    public var task: Task

    /// A grid point.
    public init(mixer: Mixer, dModel: Int, learningRate: Double, task: Task) {
      self.mixer = mixer
      self.dModel = dModel
      self.learningRate = learningRate
      self.task = task
    }

    /// The registry run name: `<sweep>-<mixer>-d<d>-lr<lr>-L<L>-kv<kv>`.
    public func runName(sweep: String) -> String {
      "\(sweep)-\(mixer.label)-d\(dModel)-lr\(MQARSweep.format(learningRate))-L\(task.seqLen)-kv\(task.numKVPairs)"
    }
  }

  /// Sweep name; prefixes every run name.
  public var name: String
  /// Vocabulary size.
  public var vocabSize: Int
  /// Mixers to compare.
  public var mixers: [Mixer]
  /// Model widths.
  public var dModels: [Int]
  /// Learning rates (the plotted value is the best over these).
  public var learningRates: [Double]
  /// (seq_len, kv pairs) tasks.
  public var tasks: [Task]
  /// Layers per model.
  public var layers: Int
  /// Maximum epochs (early stop at accuracy ≥ 0.99).
  public var epochs: Int
  /// Batch size.
  public var batchSize: Int
  /// Training examples per task.
  public var trainExamples: Int
  /// Test examples per task.
  public var testExamples: Int
  /// Data and initialization seed.
  public var seed: UInt64
  /// MLP width multiple (0: no MLP, as Zoology's Figure 2).
  public var hiddenMult: Int
  /// Mixers (labels) given learned position embeddings (Figure 2: attention only).
  public var positionsFor: [String]
  /// Whether filler positions hold random tokens (Figure 2: false).
  public var randomNonQueries: Bool

  enum CodingKeys: String, CodingKey {
    case name, mixers, tasks, layers, epochs, seed
    case vocabSize = "vocab_size"
    case dModels = "d_models"
    case learningRates = "learning_rates"
    case batchSize = "batch_size"
    case trainExamples = "train_examples"
    case testExamples = "test_examples"
    case hiddenMult = "hidden_mult"
    case positionsFor = "positions_for"
    case randomNonQueries = "random_non_queries"
  }

  /// Reads a sweep; `hidden_mult` and `positions_for` may be left out.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    vocabSize = try c.decode(Int.self, forKey: .vocabSize)
    mixers = try c.decode([Mixer].self, forKey: .mixers)
    dModels = try c.decode([Int].self, forKey: .dModels)
    learningRates = try c.decode([Double].self, forKey: .learningRates)
    tasks = try c.decode([Task].self, forKey: .tasks)
    layers = try c.decode(Int.self, forKey: .layers)
    epochs = try c.decode(Int.self, forKey: .epochs)
    batchSize = try c.decode(Int.self, forKey: .batchSize)
    trainExamples = try c.decode(Int.self, forKey: .trainExamples)
    testExamples = try c.decode(Int.self, forKey: .testExamples)
    seed = try c.decode(UInt64.self, forKey: .seed)
    hiddenMult = try c.decodeIfPresent(Int.self, forKey: .hiddenMult) ?? 0
    positionsFor = try c.decodeIfPresent([String].self, forKey: .positionsFor) ?? ["attention"]
    randomNonQueries = try c.decodeIfPresent(Bool.self, forKey: .randomNonQueries) ?? false
  }

  /// The run a point stands for: its name and its whole training configuration.
  public func run(_ point: Point) throws -> SweepRun {
    let task = dataConfig(point.task)
    let model = ModelConfig(
      mixers: try point.mixer.layers(layers), dModel: point.dModel, vocabSize: vocabSize,
      maxPositions: positionsFor.contains(point.mixer.label) ? task.seqLen : 0, hiddenMult: hiddenMult, lMax: task.seqLen,
      embedDropout: MQARTrainingConfig.zoologyDropout)
    let config = MQARTrainingConfig(
      model: model, data: task, trainExamples: point.task.trainExamples ?? trainExamples, testExamples: testExamples,
      batch: batchSize, epochs: epochs, learningRate: point.learningRate, seed: seed)
    return SweepRun(name: point.runName(sweep: name), config: config)
  }

  /// Reads and checks a sweep file.
  public static func load(path: String) throws -> MQARSweep {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw MQARSweepError.unreadable(path: path, reason: error.localizedDescription)
    }
    let sweep: MQARSweep
    do {
      sweep = try JSONDecoder().decode(MQARSweep.self, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
      throw MQARSweepError.invalid(path: path, reason: "missing key \"\(key.stringValue)\"")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
      let key = context.codingPath.map(\.stringValue).joined(separator: ".")
      throw MQARSweepError.invalid(path: path, reason: "\"\(key)\": \(context.debugDescription)")
    } catch {
      throw MQARSweepError.invalid(path: path, reason: "not valid JSON: \(error.localizedDescription)")
    }
    try sweep.validate(path: path)
    return sweep
  }

  /// Every grid point, in a fixed order: task, then d_model, then mixer, then learning rate
  /// (so the cheapest configurations of every mixer come first).
  public var points: [Point] {
    var out: [Point] = []
    for task in tasks.sorted(by: { ($0.seqLen, $0.numKVPairs) < ($1.seqLen, $1.numKVPairs) }) {
      for d in dModels.sorted() {
        for mixer in mixers {
          for lr in learningRates.sorted() { out.append(Point(mixer: mixer, dModel: d, learningRate: lr, task: task)) }
        }
      }
    }
    return out
  }

  /// The points still to run: those whose run name is not finished.
  public func pending(isFinished: (String) throws -> Bool) rethrows -> [Point] {
    try points.filter { try !isFinished($0.runName(sweep: name)) }
  }

  /// Estimated work of a point, for ordering only: tokens trained (examples × length × epochs)
  /// times width. Early stopping makes it an upper bound.
  public func estimatedCost(_ point: Point) -> Double {
    Double(point.task.trainExamples ?? trainExamples) * Double(point.task.seqLen) * Double(epochs) * Double(point.dModel)
  }

  /// Points in the order to launch them: most expensive first, so that parallel jobs finish
  /// close together instead of one long run trailing alone at the end.
  public func launchOrder(_ points: [Point]) -> [Point] {
    points.enumerated()
      .sorted { (estimatedCost($0.element), -$0.offset) > (estimatedCost($1.element), -$1.offset) }
      .map(\.element)
  }

  /// The MQAR data configuration of a task.
  public func dataConfig(_ task: Task) -> MQARConfig {
    MQARConfig(vocabSize: vocabSize, seqLen: task.seqLen, numKVPairs: task.numKVPairs, randomNonQueries: randomNonQueries)
  }

  private func validate(path: String) throws {
    func fail(_ why: String) -> MQARSweepError { .invalid(path: path, reason: why) }
    if name.isEmpty || name.contains(where: { $0 == "/" || $0.isWhitespace }) { throw fail("name must be non-empty, without spaces or '/'") }
    if mixers.isEmpty || dModels.isEmpty || learningRates.isEmpty || tasks.isEmpty {
      throw fail("mixers, d_models, learning_rates and tasks must be non-empty")
    }
    if let lr = learningRates.first(where: { !($0 > 0) }) { throw fail("learning rate \(lr) must be positive") }
    if let d = dModels.first(where: { $0 < 1 }) { throw fail("d_model \(d) must be positive") }
    if Set(mixers.map(\.label)).count != mixers.count { throw fail("mixer labels must be distinct") }
    if let bad = mixers.first(where: { $0.label.isEmpty || $0.label.contains(where: { $0 == "," || $0 == "/" || $0.isWhitespace }) }) {
      throw fail("mixer label '\(bad.label)' must be non-empty, without commas, spaces or '/'")
    }
    if hiddenMult < 0 { throw fail("hidden_mult must be >= 0") }
    if layers < 1 || epochs < 1 || batchSize < 1 || trainExamples < 1 || testExamples < 1 || tasks.contains(where: { ($0.trainExamples ?? 1) < 1 }) {
      throw fail("layers, epochs, batch_size, train_examples and test_examples must be positive")
    }
    for mixer in mixers {
      do {
        try ModelConfig(mixers: try mixer.layers(layers), dModel: dModels[0]).validate()
      } catch let error as ModelError {
        throw fail("mixer '\(mixer.label)': \(error)")
      }
    }
    for task in tasks {
      do {
        try dataConfig(task).validate()
      } catch {
        throw fail("task (seq_len \(task.seqLen), kv \(task.numKVPairs)): \(error)")
      }
    }
  }

  /// A learning rate as it appears in run names: `0.001` → `1e-3`, `0.000464` → `4.64e-4`.
  static func format(_ x: Double) -> String {
    let exponent = Int(floor(log10(x)))
    let mantissa = x / pow(10, Double(exponent))
    var m = String(format: "%.3g", mantissa)
    if m.contains(".") {
      while m.hasSuffix("0") { m.removeLast() }
      if m.hasSuffix(".") { m.removeLast() }
    }
    return "\(m)e\(exponent)"
  }
}

/// Errors reading a sweep file.
public enum MQARSweepError: Error, CustomStringConvertible, Equatable {
  /// The file cannot be read.
  case unreadable(path: String, reason: String)
  /// The file is not a valid sweep.
  case invalid(path: String, reason: String)

  /// A one-line message naming the file.
  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "\(path): cannot read sweep file: \(reason)"
    case .invalid(let path, let reason): "\(path): invalid sweep: \(reason)"
    }
  }
}
