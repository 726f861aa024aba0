import Foundation
import ZooSupport
import ZooTensor
import ZooRegistry
import ZooTrain
import ZooTracking

// What `zoo-train lm` and `zoo-train mqar` do alike around their trainers.

extension TrainingRun {
  /// Run `name` as the commands drive it: its files in `<runsDir>/<name>`, recorded in `registry`,
  /// log lines instead of a redrawn bar with `--plain`.
  init(name: String, runsDir: String, registry: Registry, resume: Bool, plain: Bool) {
    self.init(name: name, directory: runDirectory(runsDir, name), tracker: registry)
    self.resume = resume
    if plain { progressOnTerminal = false }
  }
}

/// What a training command does first: BLAS kernels and memory as training wants them, Ctrl-C
/// and SIGTERM caught (the loop checkpoints on them), `threads` for the step's ops.
func prepareTraining(threads: Int) {
  Compute.useFastBLASKernels()
  Compute.keepFreedMemory()
  Interrupt.install()
  Compute.setThreads(threads)
}

/// `<runsDir>/<name>`.
func runDirectory(_ runsDir: String, _ name: String) -> String {
  URL(fileURLWithPath: runsDir).appendingPathComponent(name).path
}

/// `train`'s result; an interruption exits with the line that says how to resume
/// (`zoo-train <command> --resume <name>`).
func resumable<Result>(_ command: String, run name: String, _ train: () throws -> Result) throws -> Result {
  do { return try train() } catch TrainError.interrupted(let step) {
    throw failure(TrainError.interrupted(step: step), resume: "zoo-train \(command) --resume \(name)")
  }
}

/// The configuration run `name` was started with: its checkpoint's, or, for a run killed before
/// its first checkpoint, the registry's (initialization and data order depend only on the seed,
/// so starting again from step 0 gives the same bits).
func recordedConfig<Config: Codable>(of name: String, kind: RunKind, runsDir: String, registry: Registry) throws -> Config {
  guard let record = try registry.run(named: name) else { throw TrackerError.unknownRun(name) }
  let checkpoint = runDirectory(runsDir, name) + "/checkpoint.bin"
  if FileManager.default.fileExists(atPath: checkpoint) {
    return try Checkpoint.load(path: checkpoint, as: Config.self).config
  }
  guard record.kind == kind.rawValue, let recorded = try? JSONDecoder().decode(Config.self, from: Data(record.config.utf8)) else {
    throw TrainError.invalid("run '\(name)' has no checkpoint at \(checkpoint) and no readable \(kind.rawValue) config in the registry")
  }
  return recorded
}
