import ArgumentParser
import Foundation
import ZooModel
import ZooRegistry
import ZooSupport
import ZooTensor
import ZooTrain
import ZooTracking

struct MQARCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mqar",
    abstract: "Train on multi-query associative recall (Zoology's synthetic task); report query accuracy.",
    discussion: """
      Keys come from the lower half of the vocabulary and values from the upper half; queries repeat \
      keys at power-law distances; only the values after queries are labeled (docs/MODELS.md). Batches in \
      fixed order, AdamW with cosine decay over epochs, accuracy and loss on the test set after \
      every epoch, early stop at --target-accuracy. With --test-tasks the test set mixes several \
      (seq-len, kv-pairs) tasks and accuracy is also logged per task.

      Example (Zoology's basic configuration):
        zoo-train mqar --mixer attention --d-model 64 --seq-len 64 --kv-pairs 4 \\
          --vocab 256 --lr 1e-3 --epochs 16

      Attention dropout defaults to Zoology's 0.1 here (--attn-dropout).
      """ + "\n\n" + MixerOptions.discussion)

  @OptionGroup(title: "Mixer") var architecture: MixerOptions
  @Option(name: .customLong("d-model"), help: "Model width.") var dModel = 64
  @Option(help: "Number of blocks.") var layers = 2
  @Option(name: .customLong("hidden-mult"), help: "MLP width as a multiple of d-model; 0 = no MLP (Zoology's Figure 2).")
  var hiddenMult = 4
  @Flag(
    name: .customLong("positions"), inversion: .prefixedNo,
    help: "Learned position embeddings (Zoology's Figure 2 gives them to attention only).")
  var positions = true
  @Option(name: .customLong("embed-dropout"), help: "Dropout on the first block's input (Zoology: 0.1).")
  var embedDropout: Float = MQARTrainingConfig.zoologyDropout
  @Option(name: .customLong("seq-len")) var seqLen = 64
  @Option(name: .customLong("kv-pairs")) var kvPairs = 4
  @Option var vocab = 8192
  @Flag(
    inversion: .prefixedNo,
    help: "Fill non-query positions with random tokens (Zoology's random_non_queries; its basic.py default).")
  var randomNonQueries = true
  @Option(name: .customLong("test-tasks"), help: "Extra test tasks as L:kv,L:kv (e.g. 128:8,256:16).")
  var testTasks: String?
  @Option(name: .customLong("train-examples")) var trainExamples = 10_000
  @Option(name: .customLong("test-examples")) var testExamples = 1_000
  @Option var batch = 32
  @Option var epochs = 64
  @Option var lr = 1e-3
  @Option(name: .customLong("weight-decay")) var weightDecay = 0.1
  @Option(name: .customLong("target-accuracy")) var targetAccuracy = 0.99
  @Option var seed: UInt64 = 1
  @Option(name: .customLong("data-seed")) var dataSeed: UInt64 = 123
  @Option var threads = ProcessInfo.processInfo.activeProcessorCount
  @Option(
    help: ArgumentHelp(
      "The whole run configuration as JSON (the config 'zoo-runs show' prints; 'zoo-train sweep' passes each point so); the model, task and training options are then not used.",
      valueName: "json"))
  var config: String?
  @Option(help: "Run name (default: mqar-<mixer>-d<d>-lr<lr>-L<L>-kv<kv>).") var name: String?
  @Option(help: "Continue the killed or interrupted run NAME from its last checkpoint, or from step 0 when it has none (other flags are ignored).")
  var resume: String?
  @Flag(
    name: .customLong("resume-unfinished"),
    help: "When a run of this name exists and did not finish, continue it (its config must be this one); when it finished, do nothing.")
  var resumeUnfinished = false
  @Option(name: .customLong("runs-dir"), help: "Directory for run files (<runs-dir>/<name>/checkpoint.bin).") var runsDir = "runs"
  @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?
  @Flag(help: "Plain log lines instead of a redrawn progress bar.") var plain = false

  func run() throws {
    prepareTraining(threads: threads)
    do {
      let registry = try Registry(path: Registry.resolvePath(db))
      var resuming = resume != nil
      let config: MQARTrainingConfig
      let runName: String
      if let resume {
        runName = resume
        config = try recordedConfig(of: runName, kind: .mqar, runsDir: runsDir, registry: registry)
      } else {
        config = try self.config.map(Self.decode) ?? flagConfig()
        try config.validate()
        runName = name ?? MQARSweep.Point(
          mixer: .init(config.model.mixerLabel), dModel: config.model.dModel, learningRate: config.learningRate,
          task: .init(seqLen: config.data.seqLen, numKVPairs: config.data.numKVPairs)).runName(sweep: "mqar")
        if let existing = try registry.run(named: runName) {
          guard resumeUnfinished, existing.status != .running else { throw TrackerError.duplicateRun(runName) }
          guard try recordedConfig(of: runName, kind: .mqar, runsDir: runsDir, registry: registry) == config else {
            throw TrainError.invalid("run '\(runName)' exists with another configuration; pick another --name")
          }
          if existing.status == .finished {
            print("\(runName): already finished")
            return
          }
          resuming = true
        }
      }
      let trainer = MQARTrainer(
        config: config, run: TrainingRun(name: runName, runsDir: runsDir, registry: registry, resume: resuming, plain: plain))
      let result = try resumable("mqar", run: runName) { try trainer.train() }
      var table = TextTable(header: ["run", "epochs", "accuracy", "best", "test loss", "s/epoch", "tok/s"])
      table.append([
        runName, String(result.epochs), String(format: "%.4f", result.accuracy), String(format: "%.4f", result.bestAccuracy),
        String(format: "%.4f", result.testLoss), String(format: "%.2f", result.secondsPerEpoch),
        String(format: "%.0f", result.tokensPerSecond),
      ])
      print(table.render(), terminator: "")
      if result.sliceAccuracy.count > 1 {
        for (slice, accuracy) in result.sliceAccuracy.sorted(by: { $0.key < $1.key }) {
          print(String(format: "  %@: %.4f", slice, accuracy))
        }
      }
    } catch {
      throw error as? ExitCode ?? failure(error)
    }
  }

  /// A configuration given as JSON with --config.
  static func decode(_ json: String) throws -> MQARTrainingConfig {
    do { return try JSONDecoder().decode(MQARTrainingConfig.self, from: Data(json.utf8)) } catch {
      throw ValidationError("--config is not an MQAR run configuration: \(error)")
    }
  }

  /// The configuration the flags describe.
  func flagConfig() throws -> MQARTrainingConfig {
    let task = MQARConfig(vocabSize: vocab, seqLen: seqLen, numKVPairs: kvPairs, randomNonQueries: randomNonQueries)
    var tasks = [task]
    if let testTasks {
      for item in testTasks.split(separator: ",") {
        let parts = item.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { throw ValidationError("--test-tasks wants L:kv pairs, got '\(item)'") }
        tasks.append(MQARConfig(vocabSize: vocab, seqLen: parts[0], numKVPairs: parts[1], randomNonQueries: randomNonQueries))
      }
    }
    let longest = tasks.map(\.seqLen).max()!
    return MQARTrainingConfig(
      model: ModelConfig(
        mixers: try architecture.layers(layers, defaults: MQARTrainingConfig.zoologyMixerDefaults), dModel: dModel,
        vocabSize: vocab, maxPositions: positions ? longest : 0, hiddenMult: hiddenMult, lMax: longest,
        embedDropout: embedDropout),
      data: task, testTasks: tasks, trainExamples: trainExamples, testExamples: testExamples, batch: batch,
      epochs: epochs, learningRate: lr, weightDecay: weightDecay, targetAccuracy: targetAccuracy, seed: seed,
      dataSeed: dataSeed)
  }
}
