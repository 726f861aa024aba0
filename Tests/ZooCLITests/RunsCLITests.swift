import Foundation
import Testing
import ZooRegistry
import ZooSupport
import ZooTracking

/// Fills a registry as ingest and training would: datasets, LM runs, an MQAR grid, odd values.
func fillRegistry(at path: String) throws {
  let registry = try Registry(path: path)
  for (i, source) in ["00.jsonl.zst", "01.jsonl.zst"].enumerated() {
    try registry.recordDataset(
      DatasetRecord(
        path: "tokens/0\(i).h5", sha256: String(repeating: "a", count: 64), source: source,
        sourceSHA256: String(repeating: "b", count: 64), documents: 300 + i, tokens: 1_500_000 + i,
        subsets: ["Github", "Pile-CC, \"quoted\""], skipped: ["malformed_json": i]))
  }
  for (mixer, loss) in [("attention", 3.1), ("base_conv", 3.4), ("hyena", 3.3)] {
    let run = try registry.startRun(
      RunSpec(name: "lm-\(mixer)", kind: .lm, mixer: mixer, configJSON: "{\"mixer\":\"\(mixer)\"}",
        params: ["d_model": "128", "layers": "2", "seq_len": "256", "lr": "0.001"]))
    for step in 0..<50 { run.logMetric(Metric("train/loss", goal: .min), step: step, value: 10 - Double(step) * 0.1) }
    run.logMetric(Metric("eval/loss", goal: .min), step: 50, value: loss)
    try run.finish(.finished)
  }
  for mixer in ["attention", "base_conv"] {
    for d in [64, 128] {
      for lr in [1e-3, 1e-4] {
        let name = "mqar-\(mixer)-d\(d)-lr\(lr)"
        let run = try registry.startRun(
          RunSpec(name: name, kind: .mqar, mixer: mixer, configJSON: "{}",
            params: ["d_model": String(d), "lr": String(lr), "seq_len": "64", "num_kv_pairs": "4", "vocab_size": "256"]))
        for epoch in 0..<5 {
          let accuracy = min(1, Double(epoch) * (mixer == "attention" ? 0.3 : 0.1) * Double(d) / 64 * (lr == 1e-3 ? 1 : 0.5))
          run.logMetric(Metric("eval/accuracy", goal: .max), step: epoch, value: accuracy)
        }
        try run.finish(.finished)
      }
    }
  }
  let failed = try registry.startRun(RunSpec(name: "diverged, \"badly\"", kind: .lm, mixer: "rwkv", configJSON: "{}", params: [:]))
  failed.logMetric(Metric("train/loss", goal: .min), step: 0, value: .nan)
  try failed.finish(.failed)
}

/// Starts an executable without waiting for it.
func spawn(_ name: String, _ arguments: [String], in directory: String) throws -> Process {
  let process = Process()
  process.executableURL = Tool.productsDirectory.appendingPathComponent(name)
  process.arguments = arguments
  process.currentDirectoryURL = URL(fileURLWithPath: directory)
  process.standardInput = FileHandle.nullDevice
  process.standardOutput = FileHandle.nullDevice
  process.standardError = FileHandle.nullDevice
  try process.run()
  return process
}

@Suite struct RunsCLITests {
  let queries = Tool.packageRoot.appendingPathComponent("queries")

  var queryFiles: [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: queries.path)) ?? []).filter { $0.hasSuffix(".sql") }.sorted()
  }

  /// Every `queries/*.sql` runs, returns rows, and prints the same rows as `sqlite3 -csv -header`.
  @Test func everyQueryFilePrintsTheSameRowsAsSqlite3() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    try fillRegistry(at: db)
    #expect(queryFiles.count >= 4)
    let hasShell = FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3")
    for file in queryFiles {
      let path = queries.appendingPathComponent(file).path
      let ours = try Tool.run("zoo-runs", ["query", path, "--csv", "--db", db], in: scratch.path)
      #expect(ours.status == 0, "\(file): \(ours.stderr)")
      let rows = CSVTable.parse(ours.stdout)
      #expect(rows.count >= 2, "\(file) returned no rows on a filled registry")
      let table = try Tool.run("zoo-runs", ["query", path, "--db", db], in: scratch.path)
      #expect(table.status == 0 && table.stdout.split(separator: "\n").count >= rows.count)
      guard hasShell else { continue }
      let shell = Process()
      shell.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
      shell.arguments = ["-csv", "-header", db]
      shell.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
      let pipe = Pipe()
      shell.standardOutput = pipe
      try shell.run()
      let expected = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      shell.waitUntilExit()
      #expect(rows == CSVTable.parse(expected.replacingOccurrences(of: "\r\n", with: "\n")), "\(file)")
    }
    if !hasShell { print("sqlite3 shell not installed: compared row counts only") }
  }

  @Test func mqarQueryTakesTheBestLearningRate() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    try fillRegistry(at: db)
    let out = try Tool.run(
      "zoo-runs", ["query", queries.appendingPathComponent("mqar_accuracy_by_d_model.sql").path, "--csv", "--db", db],
      in: scratch.path)
    let rows = CSVTable.parse(out.stdout)
    #expect(rows.first == ["mixer", "d_model", "seq_len", "num_kv_pairs", "accuracy", "best_lr", "learning_rates"])
    #expect(rows.dropFirst().map { [$0[0], $0[1], $0[4], $0[5], $0[6]] } == [
      ["attention", "64", "1.0", "0.001", "2"], ["attention", "128", "1.0", "0.001", "2"],
      ["base_conv", "64", "0.4", "0.001", "2"], ["base_conv", "128", "0.8", "0.001", "2"],
    ])
  }

  @Test func listShowMetricsCompareDeleteExport() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    try fillRegistry(at: db)
    let env = ["ZOO_DB": db]
    let list = try Tool.run("zoo-runs", ["list", "--csv"], in: scratch.path, environment: env)
    #expect(list.status == 0)
    #expect(CSVTable.parse(list.stdout).count == 1 + 3 + 8 + 1)
    let show = try Tool.run("zoo-runs", ["show", "lm-hyena"], in: scratch.path, environment: env)
    #expect(show.status == 0 && show.stdout.contains("eval/loss") && show.stdout.contains("d_model"))
    // The config JSON comes below the fields table, indented, not as one of its cells.
    let fields = show.stdout.components(separatedBy: "\n\n")[0]
    #expect(fields.hasPrefix("field") && !fields.contains("config") && !fields.contains("{"), "fields table: \(fields)")
    let config = show.stdout.components(separatedBy: "config:\n").dropFirst().first?.components(separatedBy: "\n\n")[0]
    #expect(config?.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) } == ["{", "\"mixer\" : \"hyena\"", "}"])
    let metrics = try Tool.run("zoo-runs", ["metrics", "lm-hyena", "--key", "train/loss", "--csv"], in: scratch.path, environment: env)
    #expect(CSVTable.parse(metrics.stdout).count == 51)
    let compare = try Tool.run("zoo-runs", ["compare", "lm-attention", "lm-hyena", "--csv"], in: scratch.path, environment: env)
    let evalRow = CSVTable.parse(compare.stdout).first { $0.first == "eval/loss" }
    #expect(evalRow.map { Array($0[1...3]) } == ["3.1", "3.3", "0.2"])
    let quoted = try Tool.run("zoo-runs", ["show", "diverged, \"badly\""], in: scratch.path, environment: env)
    #expect(quoted.status == 0 && quoted.stdout.contains("failed"))
    let delete = try Tool.run("zoo-runs", ["delete", "lm-hyena"], in: scratch.path, environment: env)
    #expect(delete.status == 0)
    let gone = try Tool.run("zoo-runs", ["show", "lm-hyena"], in: scratch.path, environment: env)
    #expect(gone.status == 1 && gone.stderr.contains("no run named 'lm-hyena'"))
    let export = try Tool.run("zoo-runs", ["export", "--csv", "out"], in: scratch.path, environment: env)
    #expect(export.status == 0)
    let runsCSV = try String(contentsOfFile: scratch.path + "/out/runs.csv", encoding: .utf8)
    #expect(CSVTable.parse(runsCSV).count == 1 + 11)  // 12 runs, one deleted
  }

  @Test func unknownNamesBadSQLAndMissingRegistryAreClearErrors() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    try fillRegistry(at: db)
    let bad = scratch.path + "/bad.sql"
    try "SELEC name FROM runs".write(toFile: bad, atomically: true, encoding: .utf8)
    let out = try Tool.run("zoo-runs", ["query", bad, "--db", db], in: scratch.path)
    #expect(out.status == 1)
    #expect(out.stderr.contains("syntax error"), "stderr: \(out.stderr)")
    let missingTable = scratch.path + "/missing.sql"
    try "SELECT * FROM nope".write(toFile: missingTable, atomically: true, encoding: .utf8)
    let out2 = try Tool.run("zoo-runs", ["query", missingTable, "--db", db], in: scratch.path)
    #expect(out2.status == 1 && out2.stderr.contains("no such table: nope"))
    let unknown = try Tool.run("zoo-runs", ["metrics", "nope", "--db", db], in: scratch.path)
    #expect(unknown.status == 1 && unknown.stderr.contains("no run named 'nope'"))
    let noKey = try Tool.run("zoo-runs", ["metrics", "lm-attention", "--key", "nope", "--db", db], in: scratch.path)
    #expect(noKey.status == 1 && noKey.stderr.contains("has no metric 'nope'"))
    let noDB = try Tool.run("zoo-runs", ["list", "--db", scratch.path + "/absent.db"], in: scratch.path)
    #expect(noDB.status != 0 && noDB.stderr.contains("no registry at"))
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/absent.db"))
  }

  /// Two processes logging into one registry file at once: no row lost, no "database is locked".
  @Test func twoWritersAtOnceLoseNothing() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/shared.db"
    let directory = scratch.path
    let group = DispatchGroup()
    let outputs = [UncheckedBox<Tool.Output>(), UncheckedBox<Tool.Output>()]
    for (i, box) in outputs.enumerated() {
      DispatchQueue.global().async(group: group) {
        box.value = try? Tool.run(
          "zoo-bench", ["registry", "--db", db, "--run", "writer\(i)", "--points", "60000", "--keys", "3"], in: directory)
      }
    }
    group.wait()
    for (i, box) in outputs.enumerated() {
      let out = try #require(box.value)
      #expect(out.status == 0, "writer\(i): \(out.stderr)")
      #expect(!out.stderr.contains("locked"))
    }
    let registry = try Registry(path: db)
    for i in 0..<2 {
      #expect(try registry.runStatus(named: "writer\(i)") == .finished)
      #expect(try registry.metrics(ofRun: "writer\(i)").count == 60000)
      #expect(try registry.summaries(ofRun: "writer\(i)").map(\.count) == [20000, 20000, 20000])
    }
  }

  /// A writer killed with SIGKILL mid-run leaves a readable registry; its run shows as `killed`.
  @Test func killedWriterIsShownAsKilled() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    let writer = try spawn(
      "zoo-bench", ["registry", "--db", db, "--run", "doomed", "--points", "100000000", "--step-sleep", "0.0005"],
      in: scratch.path)
    // Wait until it has written some history (time-driven flushes every 2 s).
    let deadline = Date().addingTimeInterval(30)
    var logged = 0
    while Date() < deadline {
      Thread.sleep(forTimeInterval: 0.2)
      if let registry = try? Registry(path: db), (try? registry.run(named: "doomed")) != nil {
        logged = (try? registry.metrics(ofRun: "doomed").count) ?? 0
        if logged > 0 { break }
      }
    }
    kill(writer.processIdentifier, SIGKILL)
    writer.waitUntilExit()
    #expect(logged > 0)
    let show = try Tool.run("zoo-runs", ["show", "doomed", "--db", db], in: scratch.path)
    #expect(show.status == 0, "stderr: \(show.stderr)")
    #expect(show.stdout.contains("killed"))
    let list = try Tool.run("zoo-runs", ["list", "--status", "killed", "--csv", "--db", db], in: scratch.path)
    #expect(CSVTable.parse(list.stdout).dropFirst().map { $0[0] } == ["doomed"])
    let integrity = try Registry(path: db).query("PRAGMA integrity_check")
    #expect(integrity.rows == [[.text("ok")]])
  }

  @Test func helpExplainsEverySubcommand() throws {
    let scratch = try Scratch()
    let out = try Tool.run("zoo-runs", ["--help"], in: scratch.path)
    #expect(out.status == 0)
    for sub in ["list", "show", "metrics", "compare", "delete", "query", "export"] { #expect(out.stdout.contains(sub)) }
  }
}
