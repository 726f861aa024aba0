import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport
import ZooTrain

extension SweepCommand {
  /// `--launcher slurm`: what earlier tasks wrote is merged first, so that points finished there
  /// are skipped; the rest become one job array (each task a `zoo-train mqar` with its own
  /// registry file, which resumes its point's unfinished run there and does nothing for a
  /// finished one), then `zoo-runs merge`.
  func submit(_ sweep: MQARSweep, registry: Registry) throws {
    let tasks = TaskRegistries(registryPath: registry.path)
    if !dryRun {
      for file in tasks.files() {
        let report = try registry.merge(from: file)
        for name in report.conflicts { writeStandardError("zoo-train: \(file): \(name) left out: a finished run of that name is in \(registry.path)\n") }
      }
    }
    let pending = try sweep.pending { name in
      try registry.run(named: name)?.status == .finished || tasks.open(task: name)?.run(named: name)?.status == .finished
    }
    print("\(sweep.name): \(sweep.points.count) points, \(sweep.points.count - pending.count) finished, \(pending.count) to run")
    guard !pending.isEmpty else { return try Self.printAccuracyTable(registry) }
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let zooRuns = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("zoo-runs").path
    let logs = URL(fileURLWithPath: registry.path).standardizedFileURL.deletingLastPathComponent().appendingPathComponent("sweep-logs").path
    let jobs = try sweep.launchOrder(pending).map { point in
      let run = try sweep.run(point)
      return ProcessPool.Job(
        name: run.name, executable: executable,
        arguments: Self.childArguments(run, db: tasks.path(forTask: run.name), threads: slurm.cpusPerTask),
        logPath: logs + "/" + run.name + ".log")
    }
    let array = SlurmArray(
      name: sweep.name, jobs: jobs, resources: slurm.resources, environment: ["ZOO_DB_JOURNAL": "delete"],
      workingDirectory: FileManager.default.currentDirectoryPath, outputPath: logs + "/slurm-%A_%a.out")
    let merge = ProcessPool.Job(
      name: "merge", executable: zooRuns, arguments: ["merge", "--db", URL(fileURLWithPath: registry.path).standardizedFileURL.path, tasks.directory],
      logPath: logs + "/" + sweep.name + "-merge.log")
    if dryRun {
      print(array.script + "\n# then, once the array has ended:\n" + array.followJob(merge, after: "<array id>").script, terminator: "")
      return
    }
    let submitted = try array.submit(then: merge, wait: slurm.wait) { id in
      print("zoo-train: job array \(id): \(jobs.count) point(s); logs in \(logs)")
      fflush(nil)
    }
    if let follow = submitted.followID {
      print("zoo-train: job \(follow) merges the task registries into \(registry.path) once the array has ended")
      return
    }
    try Self.printAccuracyTable(registry)
    let unfinished = try jobs.map(\.name).filter { try registry.run(named: $0)?.status != .finished }
    if !unfinished.isEmpty {
      writeStandardError(
        "zoo-train: \(unfinished.count) point(s) did not finish (logs in \(logs)); submit the same command again to redo them: "
          + unfinished.joined(separator: ", ") + "\n")
      throw ExitCode(1)
    }
  }
}
