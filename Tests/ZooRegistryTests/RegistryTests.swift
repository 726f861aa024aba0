import Foundation
import Testing
import ZooSupport
import ZooTracking

@testable import ZooRegistry

/// A registry in a fresh temporary directory.
func temporaryRegistryPath() throws -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-registry-\(UUID())")
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir.appendingPathComponent("zoo.db").path
}

let evalLoss = Metric("eval/loss", goal: .min)

func spec(_ name: String, kind: RunKind = .lm, mixer: String = "attention", params: [String: String] = [:]) -> RunSpec {
  RunSpec(name: name, kind: kind, mixer: mixer, configJSON: "{\"mixer\":\"\(mixer)\"}", params: params)
}

@Suite struct RegistryTests {
  @Test func schemaIsCreatedOnceAndRecorded() throws {
    let path = try temporaryRegistryPath()
    _ = try Registry(path: path)
    let again = try Registry(path: path)
    let migrations = try again.query("SELECT version, name FROM zoo_migrations")
    #expect(
      migrations.rows == [
        [.integer(1), .text("initial")], [.integer(2), .text("analyses")], [.integer(3), .text("scored runs")],
        [.integer(4), .text("declared goals, run identity")],
      ])
    let tables = try again.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").rows.map { $0[0].shellText }
    #expect(tables == ["analyses", "artifacts", "datasets", "metric_summary", "metrics", "params", "runs", "zoo_migrations"])
    try again.recordAnalysis(command: "gap", arguments: ["runs": "a,b", "context": "window"], outputs: ["out/gap.csv"])
    let analysis = try again.query("SELECT command, arguments FROM analyses").rows
    #expect(analysis == [[.text("gap"), .text("{\"context\":\"window\",\"runs\":\"a,b\"}")]])
    #expect(try again.query("PRAGMA journal_mode").rows == [[.text("wal")]])
  }

  @Test func runLifecycleWithParamsMetricsAndSummaries() throws {
    let registry = try Registry(path: try temporaryRegistryPath())
    let run = try registry.startRun(spec("attn", params: ["lr": "0.001", "d_model": "128"]))
    for step in 0..<10 {
      run.logMetric(Metric("train/loss", goal: .min), step: step, value: Double(10 - step))
      run.logMetric(Metric("eval/accuracy", goal: .max), step: step, value: step == 7 ? 0.9 : 0.1 * Double(step % 5))
    }
    run.logMetric(Metric("train/loss", goal: .min), step: 10, value: .nan)
    try run.finish(.finished)

    #expect(try registry.runStatus(named: "attn") == .finished)
    #expect(try registry.params(ofRun: "attn").map(\.key) == ["d_model", "lr"])
    let loss = try registry.metrics(ofRun: "attn", key: "train/loss")
    #expect(loss.count == 11)
    #expect(loss.last?.value == nil)  // NaN is stored as NULL
    let summaries = Dictionary(uniqueKeysWithValues: try registry.summaries(ofRun: "attn").map { ($0.key, $0) })
    let l = try #require(summaries["train/loss"])
    #expect(l.goal == .min && l.min == 1 && l.max == 10 && l.best == 1 && l.bestStep == 9)
    #expect(l.last == nil && l.lastStep == 10 && l.count == 11)
    let a = try #require(summaries["eval/accuracy"])
    #expect(a.goal == .max && a.best == 0.9 && a.bestStep == 7 && a.last == 0.1 * 4 && a.lastStep == 9)
    let run0 = try #require(try registry.run(named: "attn"))
    #expect(run0.pid == Int64(getpid()) && run0.endedAt != nil)
  }

  /// Summaries merged across batches equal those of one batch.
  @Test func summariesMergeAcrossBatches() throws {
    let registry = try Registry(path: try temporaryRegistryPath())
    let run = try registry.startRun(spec("batched")) as! RegistryRun
    run.batchSize = 7
    var values: [Double] = []
    var rng = SplitMix64(seed: 3)
    for step in 0..<100 {
      let v = rng.nextDouble()
      values.append(v)
      run.logMetric(Metric("eval/loss", goal: .min), step: step, value: v)
    }
    try run.finish(.finished)
    let s = try #require(try registry.summaries(ofRun: "batched").first)
    #expect(s.min == values.min() && s.max == values.max() && s.last == values.last && s.count == 100)
    #expect(s.bestStep == values.firstIndex(of: values.min()!))
    #expect(try registry.metrics(ofRun: "batched").map { $0.value! } == values)
  }

  @Test func duplicateAndUnknownNamesAreErrors() throws {
    let registry = try Registry(path: try temporaryRegistryPath())
    _ = try registry.startRun(spec("a"))
    #expect(throws: TrackerError.duplicateRun("a")) { try registry.startRun(spec("a")) }
    #expect(throws: TrackerError.unknownRun("b")) { try registry.resumeRun(named: "b") }
    #expect(throws: TrackerError.unknownRun("b")) { try registry.deleteRun(named: "b") }
  }

  /// A `running` run whose process is gone is marked `killed` when the registry is opened.
  @Test func deadProcessRunsAreMarkedKilled() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    _ = try registry.startRun(spec("alive"))
    _ = try registry.startRun(spec("dead"))
    // Pretend "dead" belonged to a process that has exited.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    try registry.database.execute("UPDATE runs SET pid = \(child.processIdentifier), pid_start = NULL WHERE name = 'dead'")
    let reopened = try Registry(path: path)
    #expect(try reopened.runStatus(named: "dead") == .killed)
    #expect(try reopened.runStatus(named: "alive") == .running)
    // A reused pid with another start time is not the run's process either.
    try registry.database.execute("UPDATE runs SET pid_start = pid_start + 1 WHERE name = 'alive'")
    #expect(try Registry(path: path).runStatus(named: "alive") == .killed)
  }

  @Test func resumeReopensAKilledRun() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    let run = try registry.startRun(spec("r"))
    run.logMetric(Metric("train/loss", goal: .min), step: 0, value: 3)
    try run.finish(.killed)
    let resumed = try registry.resumeRun(named: "r")
    resumed.logMetric(Metric("train/loss", goal: .min), step: 1, value: 2)
    try resumed.finish(.finished)
    #expect(try registry.runStatus(named: "r") == .finished)
    #expect(try registry.metrics(ofRun: "r").map(\.step) == [0, 1])
  }

  /// A process killed past its last checkpoint (step 2) logged steps 3 and 4 and an end-of-run
  /// key; resuming from step 2 drops those points and recomputes the summaries without them.
  @Test func resumeDropsPointsPastTheCheckpoint() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    let run = try registry.startRun(spec("r"))
    for (step, value) in [(1, 5.0), (2, 4.0), (3, 1.0), (4, 0.5)] { run.logMetric(Metric("train/loss", goal: .min), step: step, value: value) }
    run.logMetric(Metric("eval/loss", goal: .min), step: 4, value: 0.7)
    try run.flush()
    let resumed = try registry.resumeRun(named: "r", after: 2, redoing: ["eval/loss"])
    #expect(try registry.metrics(ofRun: "r").map(\.step) == [1, 2])
    let summary = try #require(try registry.summaries(ofRun: "r").first)
    #expect(try registry.summaries(ofRun: "r").count == 1)
    #expect(summary.key == "train/loss" && summary.count == 2 && summary.min == 4 && summary.last == 4 && summary.lastStep == 2)
    #expect(summary.best == 4 && summary.bestStep == 2 && summary.max == 5)
    resumed.logMetric(Metric("train/loss", goal: .min), step: 3, value: 3)
    try resumed.finish(.finished)
    let after = try #require(try registry.summaries(ofRun: "r").first)
    #expect(after.count == 3 && after.min == 3 && after.last == 3 && after.lastStep == 3)
  }

  @Test func datasetsUpsertByPathAndArtifactsAreHashed() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    var dataset = DatasetRecord(
      path: "tokens/00.h5", sha256: "aa", source: "00.jsonl.zst", sourceSHA256: "bb", documents: 2, tokens: 10,
      subsets: ["Github", "Pile-CC \"quoted\""], skipped: ["malformed_json": 1])
    try registry.recordDataset(dataset)
    dataset.tokens = 12
    try registry.recordDataset(dataset)
    let rows = try registry.query("SELECT tokens, subsets, skipped FROM datasets").rows
    #expect(rows == [[.integer(12), .text("[\"Github\",\"Pile-CC \\\"quoted\\\"\"]"), .text("{\"malformed_json\":1}")]])

    let file = URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent("losses.h5").path
    try Data("abc".utf8).write(to: URL(fileURLWithPath: file))
    let run = try registry.startRun(spec("with-artifact"))
    try run.logArtifact(kind: "losses", path: file)
    let artifact = try #require(try registry.artifacts(ofRun: "with-artifact").first)
    #expect(artifact.bytes == 3)
    #expect(artifact.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    try registry.deleteRun(named: "with-artifact")
    #expect(try registry.query("SELECT count(*) FROM artifacts").rows == [[.integer(0)]])
  }

  /// A registry made before 'scored' runs existed (migrations 1 and 2 only) keeps every row through
  /// migration 3's rebuild of the runs table, and deleting a run still cascades.
  @Test func migrationToScoredRunsKeepsEveryRow() throws {
    let path = try temporaryRegistryPath()
    do {
      let old = try SQLiteDatabase(path: path)
      try old.execute("PRAGMA foreign_keys=ON")
      try old.execute("CREATE TABLE zoo_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
      for migration in RegistrySchema.migrations.prefix(2) {
        try old.execute(migration.sql)
        try old.execute("INSERT INTO zoo_migrations VALUES (\(migration.version), '\(migration.name)', 'then')")
      }
      try old.execute(
        """
        INSERT INTO runs(id, name, kind, mixer, status, config, started_at, host, zoo_version)
          VALUES (7, 'old', 'lm', 'attention', 'finished', '{}', 'then', 'h', '0');
        INSERT INTO params VALUES (7, 'lr', '0.001');
        INSERT INTO metrics VALUES (7, 'eval/loss', 1, 3.5, 0);
        INSERT INTO metric_summary VALUES (7, 'eval/loss', 'min', 3.5, 3.5, 3.5, 1, 3.5, 1, 1);
        INSERT INTO artifacts VALUES (1, 7, 'losses', '/x.h5', 'aa', 3, 'then');
        """)
    }
    let registry = try Registry(path: path)
    #expect(try registry.requireRun(named: "old").id == 7)
    #expect(try registry.params(ofRun: "old").map(\.value) == ["0.001"])
    #expect(try registry.metrics(ofRun: "old").map(\.value) == [3.5])
    #expect(try registry.artifacts(ofRun: "old").map(\.path) == ["/x.h5"])
    #expect(try registry.query("PRAGMA foreign_keys").rows == [[.integer(1)]])
    try registry.deleteRun(named: "old")
    for table in ["params", "metrics", "metric_summary", "artifacts"] {
      #expect(try registry.query("SELECT count(*) FROM \(table)").rows == [[.integer(0)]], "\(table)")
    }
  }

  @Test func finishedRunsAreAddedWholeOnceAndConflictsAreErrors() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
    let a = directory.appendingPathComponent("a.h5").path
    let b = directory.appendingPathComponent("b.h5").path
    try Data("abc".utf8).write(to: URL(fileURLWithPath: a))
    try Data("abd".utf8).write(to: URL(fileURLWithPath: b))
    let scored = RunSpec(name: "pythia", kind: .scored, mixer: "GPTNeoXForCausalLM", configJSON: "{}", params: ["dtype": "float32"])
    let artifact = try ArtifactRecord(kind: "losses", file: a)
    #expect(try registry.addFinishedRun(scored, metrics: [evalLoss: 3.25], artifact: artifact) == .added)
    let run = try registry.requireRun(named: "pythia")
    #expect(run.kind == "scored" && run.status == .finished && run.pid == nil && run.endedAt != nil)
    #expect(try registry.summaries(ofRun: "pythia").map { [$0.key, "\($0.last!)", "\($0.best!)", "\($0.count)"] } == [["eval/loss", "3.25", "3.25", "1"]])
    #expect(try registry.artifacts(ofRun: "pythia") == [artifact])
    #expect(try registry.params(ofRun: "pythia").map(\.key) == ["dtype"])
    #expect(try registry.addFinishedRun(scored, metrics: [evalLoss: 3.25], artifact: artifact) == .unchanged)
    #expect(try registry.query("SELECT count(*) FROM metrics").rows == [[.integer(1)]])
    #expect(try registry.query("SELECT count(*) FROM artifacts").rows == [[.integer(1)]])
    #expect {
      try registry.addFinishedRun(scored, metrics: [evalLoss: 3.5], artifact: try ArtifactRecord(kind: "losses", file: b))
    } throws: { error in
      guard case .conflictingRun("pythia", let reason) = error as? TrackerError else { return false }
      return reason.contains(a) && reason.contains(b)
    }
    _ = try registry.startRun(spec("trained"))
    #expect(throws: TrackerError.self) { try registry.addFinishedRun(spec("trained"), metrics: [:], artifact: artifact) }
    #expect(try registry.runs().count == 2)
  }

  @Test func realsPrintAsTheSQLiteShellDoes() {
    #expect(SQLValue.real(1).shellText == "1.0")
    #expect(SQLValue.real(0.1).shellText == "0.1")
    #expect(SQLValue.real(1e20).shellText == "1.0e+20")
    #expect(SQLValue.real(1.0 / 3).shellText == "0.333333333333333")
    #expect(SQLValue.integer(-4).shellText == "-4")
  }

  @Test func badSQLIsAnErrorWithSQLitesMessage() throws {
    let registry = try Registry(path: try temporaryRegistryPath())
    #expect {
      try registry.query("SELEC nonsense")
    } throws: { error in
      (error as? SQLiteError)?.message.contains("syntax error") == true
    }
  }
}
