import Foundation
import ZooSupport
import ZooTensor
import ZooTracking

/// The run a trainer drives, apart from what it trains: its name, its files, who records it, and
/// how it is driven (resume, progress display, an early stop for tests, threads). Both
/// ``LMTrainer`` and ``MQARTrainer`` take one.
public struct TrainingRun {
  public var name: String
  /// `runs/<name>`: the checkpoint (and an LM run's losses).
  public var directory: String
  public var tracker: (any ExperimentTracker)?
  /// Continue the registry run (which must exist) from the checkpoint in `directory` when there
  /// is one, else from step 0.
  public var resume = false
  /// nil: bar on a terminal, log lines otherwise; false: log lines always; true: bar always.
  public var progressOnTerminal: Bool? = nil
  /// Stop before this step as if interrupted (tests of resuming); nil = run to the end.
  public var stopAfterStep: Int?
  /// Threads of each training step (the weights do not depend on it).
  public var threads = Compute.threads

  public init(name: String, directory: String, tracker: (any ExperimentTracker)?) {
    self.name = name
    self.directory = directory
    self.tracker = tracker
  }

  public var checkpointPath: String { directory + "/checkpoint.bin" }

  /// When resuming and a checkpoint exists: it, checked to be a `kind` run of this `config`.
  func checkpointToResume<Config: Codable & Equatable>(kind: RunKind, config: Config) throws -> Checkpoint.Loaded<Config>? {
    guard resume, FileManager.default.fileExists(atPath: checkpointPath) else { return nil }
    let loaded = try Checkpoint.load(path: checkpointPath, as: Config.self)
    guard loaded.kind == kind.rawValue, loaded.config == config else {
      throw TrainError.invalid("\(checkpointPath) was written with another config")
    }
    return loaded
  }

  /// Creates the run directory (clearing dead writers' temporaries), then starts the registry
  /// run, or resumes it after `step` (its metrics past `step` and `redoing` dropped).
  func open(_ spec: RunSpec, resumingAfter step: Int, redoing: [String]) throws -> (any RunTracker)? {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    AtomicFile.removeStaleTemporaries(in: directory, reportAs: "zoo-train")
    if resume { return try tracker?.resumeRun(named: name, after: step, redoing: redoing) }
    return try tracker?.startRun(spec)
  }

  /// `train`'s result, with the registry run closed: finished, killed when interrupted (Ctrl-C,
  /// SIGTERM), failed on any other error.
  func recording<Result>(_ run: (any RunTracker)?, _ train: () throws -> Result) throws -> Result {
    do {
      let result = try train()
      try run?.finish(.finished)
      return result
    } catch {
      if case .interrupted? = error as? TrainError { try? run?.finish(.killed) } else { try? run?.finish(.failed) }
      throw error
    }
  }
}
