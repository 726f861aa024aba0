import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport
import ZooTrain

struct SweepCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sweep",
    abstract: "Run an MQAR grid from a JSON sweep file; skips points already finished in the registry.",
    discussion: """
      Each point (mixer × d_model × lr × task) runs as its own 'zoo-train mqar' process named \
      <sweep>-<mixer>-d<d>-lr<lr>-L<L>-kv<kv>, --jobs at a time with one thread each (small MQAR \
      models keep two single-threaded runs busier than one two-threaded run; see README), the \
      largest (examples × length × epochs × d_model) first so the jobs finish close together. \
      Interrupted: finished points stay; run the same command again to go on (killed points are \
      redone). Then: zoo-runs query queries/mqar_accuracy_by_d_model.sql, zoo-analyze mqar.

      Example: zoo-train sweep sweeps/fig2-cpu.json
      """)

  @Argument(help: "Sweep file (JSON).") var file: String
  @Option(help: "Runs at a time (default: all cores).") var jobs = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?
  @Flag(help: "Print the points that would run, in launch order, and exit.") var dryRun = false

  func run() throws {
    Interrupt.install()
    do {
      let sweep = try MQARSweep.load(path: file)
      let dbPath = Registry.resolvePath(db)
      let registry = try Registry(path: dbPath)
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
      var running: [(Process, String)] = []
      var queue = order[...]
      var done = 0
      var failed: [String] = []
      func reap(_ process: Process, _ name: String) {
        done += 1
        if process.terminationStatus != 0 { failed.append(name) }
        let accuracy = (try? Registry(path: dbPath).summaries(ofRun: name).first { $0.key == "eval/accuracy" }?.max) ?? nil
        progress.update(done: Double(done), detail: "\(name): " + (accuracy.map { String(format: "accuracy %.4f", $0) } ?? "failed"))
      }
      while (!queue.isEmpty || !running.isEmpty) && !Interrupt.requested {
        while running.count < max(1, jobs), let point = queue.popFirst() {
          let name = point.runName(sweep: sweep.name)
          let process = Process()
          process.executableURL = URL(fileURLWithPath: executable)
          process.arguments =
            sweep.arguments(point) + ["--threads", "1", "--name", name, "--replace-unfinished", "--db", dbPath, "--plain"]
          let log = logs.appendingPathComponent("\(name).log")
          try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
          _ = FileManager.default.createFile(atPath: log.path, contents: nil)
          let handle = try FileHandle(forWritingTo: log)
          process.standardOutput = handle
          process.standardError = handle
          process.standardInput = FileHandle.nullDevice
          try process.run()
          running.append((process, name))
        }
        Thread.sleep(forTimeInterval: 0.2)
        let finished = running.filter { !$0.0.isRunning }
        running.removeAll { !$0.0.isRunning }
        for (process, name) in finished { reap(process, name) }
      }
      if Interrupt.requested {
        for (process, _) in running { process.interrupt() }
        for (process, _) in running { process.waitUntilExit() }
        writeStandardError("zoo-train: sweep interrupted; finished points are kept, run the command again to go on\n")
        throw ExitCode(130)
      }
      progress.finish("\(sweep.name): \(done) runs, \(failed.count) failed")
      let figure2 = "queries/mqar_accuracy_by_d_model.sql"
      if let sql = try? String(contentsOfFile: figure2, encoding: .utf8) {
        let table = try registry.query(sql)
        var text = TextTable(header: table.columns)
        for row in table.rows { text.append(row.map(\.shellText)) }
        print(text.render(), terminator: "")
      } else {
        print("accuracy table: zoo-runs query \(figure2) (from the repository root)")
      }
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
}
