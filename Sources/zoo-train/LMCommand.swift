import ArgumentParser
import Foundation
import ZooModel
import ZooRegistry
import ZooSupport
import ZooTensor
import ZooTrain
import ZooTracking

struct LMCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lm",
    abstract: "Train a language model on token stores; write held-out per-token losses.",
    discussion: """
      Windows of seq-len+1 tokens are sampled uniformly from the stores (crossing document \
      boundaries, as GPT-NeoX does); the last --eval-tokens tokens of the last store are held out \
      and, when training ends, evaluated in non-overlapping windows into <runs-dir>/<name>/losses.h5 \
      (format zoo.losses.v1; the first token of each window is NaN). AdamW (betas 0.9/0.999, \
      weight decay on every parameter as Zoology does), linear warmup then cosine decay to \
      0.1·lr, gradient norm clipped at 1.

      Example:
        zoo-train lm --data tokens/00.h5 tokens/01.h5 --mixer attention \\
          --d-model 128 --layers 2 --seq-len 256 --batch 16 --steps 300 \\
          --lr 1e-3 --name attn-d128
        zoo-train lm --resume attn-d128
      """ + "\n\n" + MixerOptions.discussion)

  @Option(parsing: .upToNextOption, help: "Token stores (.h5 from zoo-ingest); the last one holds the eval range.")
  var data: [String] = []
  @OptionGroup(title: "Mixer") var architecture: MixerOptions
  @Option(name: .customLong("d-model"), help: "Model width.") var dModel = 128
  @Option(help: "Number of blocks.") var layers = 2
  @Option(name: .customLong("seq-len"), help: "Tokens per training window (and eval window).") var seqLen = 256
  @Option(name: .customLong("embed-dropout"), help: "Dropout on the first block's input.") var embedDropout: Float = 0
  @Option(help: "Windows per step.") var batch = 16
  @Option(help: "Optimizer steps.") var steps = 300
  @Option(help: "Peak learning rate.") var lr = 1e-3
  @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.") var weightDecay = 0.1
  @Option(help: "Warmup steps (default: min(100, steps/10)).") var warmup: Int?
  @Option(name: .customLong("eval-tokens"), help: "Held-out tokens at the end of the last store.") var evalTokens = 65536
  @Option(help: "Seed of initialization and data order.") var seed: UInt64 = 1
  @Option(help: "Threads (default: all cores); results do not depend on it.") var threads = ProcessInfo.processInfo.activeProcessorCount
  @Option(name: .customLong("checkpoint-every"), help: "Steps between checkpoints.") var checkpointEvery = 100
  @Option(name: .customLong("log-every"), help: "Steps between progress lines.") var logEvery = 10
  @Option(help: "Run name (unique in the registry).") var name: String?
  @Option(help: "Continue the killed or interrupted run NAME from its last checkpoint, or from step 0 when it has none (other flags are ignored).")
  var resume: String?
  @Option(name: .customLong("runs-dir"), help: "Directory for run files.") var runsDir = "runs"
  @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?
  @Flag(help: "Plain log lines instead of a redrawn progress bar.") var plain = false

  func validate() throws {
    if resume == nil {
      if data.isEmpty { throw ValidationError("give the token stores: --data STORE.h5...") }
      if name == nil { throw ValidationError("give the run a name: --name NAME") }
    }
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  func run() throws {
    prepareTraining(threads: threads)
    do {
      let registry = try Registry(path: Registry.resolvePath(db))
      let runName = resume ?? name!
      var config: LMTrainingConfig
      if resume != nil {
        config = try recordedConfig(of: runName, kind: .lm, runsDir: runsDir, registry: registry)
      } else {
        // Flags first, then the stores: the embedding has as many rows as their tokenizer has ids.
        let mixers = try architecture.layers(layers)
        config = LMTrainingConfig(
          model: ModelConfig(
            mixers: mixers, dModel: dModel, vocabSize: try TokenCorpus.vocabulary(of: data).vocabularySize,
            maxPositions: seqLen, hiddenMult: 4, lMax: seqLen, embedDropout: embedDropout),
          data: data, seqLen: seqLen, batch: batch, steps: steps, learningRate: lr, weightDecay: weightDecay,
          warmupSteps: warmup, evalTokens: evalTokens, seed: seed, checkpointEvery: checkpointEvery, logEvery: logEvery)
        try config.validate()
        if try registry.run(named: runName) != nil { throw TrackerError.duplicateRun(runName) }
      }
      let trainer = LMTrainer(
        config: config, run: TrainingRun(name: runName, runsDir: runsDir, registry: registry, resume: resume != nil, plain: plain))
      let result = try resumable("lm", run: runName) { try trainer.train() }
      var table = TextTable(header: ["run", "steps", "train loss", "eval loss", "eval ppl", "unigram eval loss", "tok/s"])
      table.append([
        runName, String(result.steps), String(format: "%.4f", result.lastTrainLoss), String(format: "%.4f", result.evalLoss),
        String(format: "%.1f", Foundation.exp(result.evalLoss)), String(format: "%.4f", result.unigramHeldOutLoss),
        String(format: "%.0f", result.tokensPerSecond),
      ])
      print(table.render(), terminator: "")
      print("losses: \(result.lossesPath)\ncheckpoint: \(result.checkpointPath)")
    } catch {
      throw error as? ExitCode ?? failure(error)
    }
  }
}
