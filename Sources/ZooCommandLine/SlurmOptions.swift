import ArgumentParser
import ZooSupport

/// Where the work runs.
public enum Launcher: String, ExpressibleByArgument, CaseIterable {
  /// In this process (and its children).
  case local
  /// As a Slurm job array, submitted with sbatch.
  case slurm
}

/// The options of `--launcher slurm`, as sbatch takes them (zoo-ingest's and zoo-train sweep's).
public struct SlurmOptions: ParsableArguments {
  @Option(help: "Slurm partition (default: the cluster's).") public var partition: String?
  @Option(help: "Time limit of each task, as sbatch takes it (e.g. 2:00:00).") public var time: String?
  @Option(name: .customLong("cpus-per-task"), help: "CPUs of each task (its thread count).") public var cpusPerTask = 1
  @Option(help: "Memory of each task (e.g. 4G).") public var mem: String?
  @Option(name: .customLong("max-parallel"), help: "Most tasks running at once (the array's %K).") public var maxParallel: Int?
  @Option(name: .customLong("sbatch-arg"), help: "A further sbatch option for every job (repeatable), e.g. --sbatch-arg=--account=lab.")
  public var sbatchArgs: [String] = []
  @Flag(help: "Wait for the array, then merge its registries here (default: a dependent job merges them).") public var wait = false

  public init() {}

  public func validate() throws {
    if cpusPerTask < 1 { throw ValidationError("--cpus-per-task must be at least 1") }
    if let maxParallel, maxParallel < 1 { throw ValidationError("--max-parallel must be at least 1") }
  }

  /// What each task asks for.
  public var resources: SlurmResources {
    SlurmResources(
      partition: partition, time: time, cpusPerTask: cpusPerTask, memory: mem, maxParallel: maxParallel, extraArguments: sbatchArgs)
  }
}
