import Foundation
import Testing
import ZooSupport
import ZooTracking

@testable import ZooRegistry

/// Goals are declared by the logger and kept through resumes; migration 4 fixes the goals that
/// earlier versions guessed from key names.
@Suite struct MetricGoalTests {
  @Test func declaredGoalsChooseTheBestAndNoneKeepsNone() throws {
    let registry = try Registry(path: try temporaryRegistryPath())
    let run = try registry.startRun(spec("g"))
    let throughput = Metric("train/tokens_per_s", goal: .max)
    let lr = Metric("train/lr", goal: .none)
    for (step, value) in [(1, 100.0), (2, 300.0), (3, 200.0)] {
      run.logMetric(throughput, step: step, value: value)
      run.logMetric(lr, step: step, value: value / 1e5)
    }
    try run.flush()
    var summaries = Dictionary(uniqueKeysWithValues: try registry.summaries(ofRun: "g").map { ($0.key, $0) })
    #expect(summaries["train/tokens_per_s"]?.goal == .max && summaries["train/tokens_per_s"]?.best == 300)
    #expect(summaries["train/tokens_per_s"]?.bestStep == 2)
    let setting = try #require(summaries["train/lr"])
    #expect(setting.goal == .none && setting.best == nil && setting.bestStep == nil && setting.max == 0.003 && setting.count == 3)
    // A resume rebuilds the summaries from the history with the goals they were declared with.
    _ = try registry.resumeRun(named: "g", after: 2)
    summaries = Dictionary(uniqueKeysWithValues: try registry.summaries(ofRun: "g").map { ($0.key, $0) })
    #expect(summaries["train/tokens_per_s"]?.goal == .max && summaries["train/tokens_per_s"]?.best == 300)
    #expect(summaries["train/lr"]?.goal == MetricGoal.none && summaries["train/lr"]?.best == nil)

    let directory = URL(fileURLWithPath: registry.path).deletingLastPathComponent()
    let file = directory.appendingPathComponent("l.h5").path
    try Data("x".utf8).write(to: URL(fileURLWithPath: file))
    let scored = RunSpec(name: "s", kind: .scored, mixer: "m", configJSON: "{}", params: [:])
    _ = try registry.addFinishedRun(
      scored, metrics: [evalLoss: 2.5, Metric("score/seconds", goal: .none): 9], artifact: try ArtifactRecord(kind: "losses", file: file))
    #expect(try registry.summaries(ofRun: "s").map { "\($0.key) \($0.goal) \($0.best.map { "\($0)" } ?? "-")" } == [
      "eval/loss min 2.5", "score/seconds none -",
    ])
  }

  /// A version-3 file (goals guessed from the names): every row keeps its values, throughput
  /// becomes `max` with its best recomputed from the history, settings and timings `none`;
  /// every run gets a distinct uuid and a `last_seen`.
  @Test func migrationFourDeclaresGoalsAndGivesRunsAnIdentity() throws {
    let path = try temporaryRegistryPath()
    do {
      let old = try SQLiteDatabase(path: path)
      try old.execute("CREATE TABLE zoo_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
      for migration in RegistrySchema.migrations.prefix(3) {
        try old.execute(migration.sql)
        try old.execute("INSERT INTO zoo_migrations VALUES (\(migration.version), '\(migration.name)', 'then')")
      }
      try old.execute(
        """
        INSERT INTO runs(id, name, kind, mixer, status, config, started_at, ended_at, host, zoo_version) VALUES
          (1, 'a', 'lm', 'attention', 'finished', '{}', '2026-01-02T03:04:05Z', '2026-01-02T04:00:00Z', 'h', '0'),
          (2, 'b', 'lm', 'attention', 'killed', '{}', '2026-01-02T03:04:05Z', NULL, 'h', '0');
        INSERT INTO metrics VALUES (1, 'train/tokens_per_s', 10, 50, 0), (1, 'train/tokens_per_s', 20, 80, 0),
          (1, 'train/tokens_per_s', 30, 80, 0), (1, 'train/lr', 10, 0.001, 0), (1, 'eval/loss', 30, 3.5, 0);
        INSERT INTO metric_summary VALUES (1, 'train/tokens_per_s', 'min', 50, 80, 80, 30, 50, 10, 3),
          (1, 'train/lr', 'min', 0.001, 0.001, 0.001, 10, 0.001, 10, 1), (1, 'eval/loss', 'min', 3.5, 3.5, 3.5, 30, 3.5, 30, 1);
        """)
    }
    let registry = try Registry(path: path)
    let rows = try registry.query("SELECT key, goal, min, max, last, last_step, best, best_step, count FROM metric_summary ORDER BY key")
      .rows.map { $0.map(\.shellText).joined(separator: "|") }
    #expect(rows == [
      "eval/loss|min|3.5|3.5|3.5|30|3.5|30|1", "train/lr|none|0.001|0.001|0.001|10|||1",
      "train/tokens_per_s|max|50.0|80.0|80.0|30|80.0|20|3",
    ])
    let runs = try registry.runs()
    #expect(Set(runs.map(\.uuid)).count == 2 && runs.allSatisfy { $0.uuid.count == 36 })
    #expect(runs.map(\.lastSeen) == [1_767_326_400, 1_767_323_045])
    #expect(try registry.query("SELECT count(*) FROM metrics").rows == [[.integer(5)]])
  }
}
