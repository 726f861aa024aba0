import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport

extension ZooIngestCommand {
  /// `--launcher slurm`: one array task a shard, each `zoo-ingest --task-index I` with its own
  /// registry file, then `zoo-runs merge` of those into the registry.
  func submit() throws {
    let registry = URL(fileURLWithPath: Registry.resolvePath(db)).standardizedFileURL.path
    let tasks = TaskRegistries(registryPath: registry)
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
    let zooRuns = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("zoo-runs").path
    let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
    let logs = URL(fileURLWithPath: registry).deletingLastPathComponent().appendingPathComponent("ingest-logs").path
    let inputs = shards.map(absolute)
    let tokenizer = FileManager.default.fileExists(atPath: self.tokenizer) ? absolute(self.tokenizer) : self.tokenizer
    let jobs = inputs.enumerated().map { i, shard in
      let name = "ingest-" + URL(fileURLWithPath: shard).lastPathComponent
      return ProcessPool.Job(
        name: name, executable: executable,
        arguments: [
          "--format", format.rawValue, "--out", absolute(out), "--tokenizer", tokenizer, "--threads", String(slurm.cpusPerTask),
          "--db", tasks.path(forTask: name), "--plain", "--task-index", String(i), "--task-count", String(inputs.count),
        ] + inputs,
        logPath: logs + "/" + name + ".log")
    }
    let array = SlurmArray(
      name: "zoo-ingest", jobs: jobs, resources: slurm.resources, environment: ["ZOO_DB_JOURNAL": "delete"],
      workingDirectory: FileManager.default.currentDirectoryPath, outputPath: logs + "/slurm-%A_%a.out")
    let merge = ProcessPool.Job(
      name: "merge", executable: zooRuns, arguments: ["merge", "--db", registry, tasks.directory], logPath: logs + "/merge.log")
    if dryRun {
      print(array.script + "\n# then, once the array has ended:\n" + array.followJob(merge, after: "<array id>").script, terminator: "")
      return
    }
    do {
      let submitted = try array.submit(then: merge, wait: slurm.wait) { id in
        print("zoo-ingest: job array \(id): \(jobs.count) shard(s); logs in \(logs)")
        fflush(nil)
      }
      if let follow = submitted.followID {
        print("zoo-ingest: job \(follow) merges the task registries into \(registry) once the array has ended")
      } else if submitted.succeeded == false {
        writeStandardError("zoo-ingest: some tasks failed; logs in \(logs); submit the same command again to redo them\n")
        throw ExitCode(1)
      }
    } catch let error as SlurmError {
      writeStandardError("zoo-ingest: \(error)\n")
      throw ExitCode(1)
    }
  }
}
