import ArgumentParser
import Foundation
import ZooCommandLine
import ZooRegistry
import ZooSupport
import ZooTrain

struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Run an MQAR grid from a JSON sweep file; skips points already finished in the registry.",
    discussion: """
      Each point (mixer × d_model × lr × task) runs as its own 'zoo-train mqar --config' process named \
      <sweep>-<mixer>-d<d>-lr<lr>-L<L>-kv<kv>, --jobs at a time with one thread each (small MQAR \
      models keep two single-threaded runs busier than one two-threaded run; see README), the \
      largest (examples × length × epochs × d_model) first so the jobs finish close together. \
      Interrupted: finished points stay; run the same command again to go on (killed points \
      resume from their last checkpoint). Then: zoo-runs query queries/mqar_accuracy_by_d_model.sql, zoo-analyze mqar.

      --launcher slurm submits the points still to run as one Slurm job array instead (a point a \
      task, --max-parallel at a time, --cpus-per-task threads each), each task writing its own \
      registry file (<db>.tasks/<run>.db, journal mode DELETE), and a job after it \
      (--dependency=afterany) that merges those into --db; with --wait it waits and merges here. \
      A task that fails, is cancelled or preempted (SIGTERM: checkpoint, status killed) resumes \
      from its checkpoint when the same command is submitted again; points finished are skipped \
      at submission and again in the task. --dry-run prints the sbatch scripts.

      Example: zoo-train sweep sweeps/fig2-cpu.json
        zoo-train sweep sweeps/fig2-cpu.json --launcher slurm --max-parallel 64
      """)

  @Argument(help: "Sweep file (JSON).") var file: String
  @Option(help: "Runs at a time (default: all cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?
  @Flag(help: "Print the points that would run, in launch order (with --launcher slurm: the sbatch scripts), and exit.")
  var dryRun = false
  @Option(help: "Where points run: local (a process pool here) or slurm (one job array, a point a task).")
  var launcher = Launcher.local
  @OptionGroup(title: "Slurm (with --launcher slurm)") var slurm: SlurmOptions

  /// The `zoo-train` arguments that train `run` in a child process: its configuration as JSON,
  /// continuing the run where an earlier attempt left it unfinished (and doing nothing for a
  /// finished one), `threads` threads, plain log lines, the registry `db`.
  static func childArguments(_ run: SweepRun, db: String, threads: Int = 1) -> [String] {
    ["mqar", "--config", run.config.canonicalJSON, "--name", run.name, "--resume-unfinished", "--threads", String(threads), "--db", db, "--plain"]
  }

  func run() throws {
    Interrupt.install()
    do {
      let sweep = try MQARSweep.load(path: file)
      let dbPath = Registry.resolvePath(db)
      let registry = try Registry(path: dbPath)
      if launcher == .slurm { return try submit(sweep, registry: registry) }
      let pending = try sweep.pending { name in try registry.run(named: name)?.status == .finished }
      print("\(sweep.name): \(sweep.points.count) points, \(sweep.points.count - pending.count) finished, \(pending.count) to run")
      let order = sweep.launchOrder(pending)
      if dryRun {
        for point in order { print("  " + point.runName(sweep: sweep.name)) }
        return
      }
      let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
      let progress = Progress(title: sweep.name, total: Double(pending.count), logInterval: 0)
      let logs = URL(fileURLWithPath: dbPath).deletingLastPathComponent().appendingPathComponent("sweep-logs")
      AtomicFile.removeStaleTemporaries(in: logs.path, reportAs: "zoo-train")
      let children = try order.map { point in
        let run = try sweep.run(point)
        return ProcessPool.Job(
          name: run.name, executable: executable, arguments: Self.childArguments(run, db: dbPath),
          logPath: logs.appendingPathComponent("\(run.name).log").path)
      }
      var done = 0
      var failed: [String] = []
      let outcome = try ProcessPool(width: jobs).run(children) { job, status in
        done += 1
        if status != 0 { failed.append(job.name) }
        let accuracy = (try? Registry(path: dbPath).summaries(ofRun: job.name).first { $0.key == "eval/accuracy" }?.max) ?? nil
        progress.update(done: Double(done), detail: "\(job.name): " + (accuracy.map { String(format: "accuracy %.4f", $0) } ?? "failed"))
      }
      if outcome == .interrupted {
        writeStandardError("zoo-train: sweep interrupted; finished points are kept, run the command again to go on\n")
        throw ExitCode(130)
      }
      progress.finish("\(sweep.name): \(done) runs, \(failed.count) failed")
      try Self.printAccuracyTable(registry)
      if !failed.isEmpty {
        writeStandardError("zoo-train: \(failed.count) run(s) failed; logs in sweep-logs/: \(failed.joined(separator: ", "))\n")
        throw ExitCode(1)
      }
    } catch let error as ExitCode {
      throw error
    } catch {
      throw failure(error)
    }
  }

  /// The Figure-2 table of `registry` (best accuracy over learning rates), when the query file is here.
  static func printAccuracyTable(_ registry: Registry) throws {
    let figure2 = "queries/mqar_accuracy_by_d_model.sql"
    if let sql = try? String(contentsOfFile: figure2, encoding: .utf8) {
      let table = try registry.query(sql)
      var text = TextTable(header: table.columns)
      for row in table.rows { text.append(row.map(\.shellText)) }
      print(text.render(), terminator: "")
    } else {
      print("accuracy table: zoo-runs query \(figure2) (from the repository root)")
    }
  }
}
