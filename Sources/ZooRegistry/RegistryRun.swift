import Foundation
import ZooSupport
import ZooTracking

/// One run's logging handle on the SQLite registry. Metric points are buffered and written in one
/// `BEGIN IMMEDIATE` transaction per batch (history rows plus one summary upsert per key), when the
/// buffer holds `batchSize` points, when `flushInterval` seconds have passed, and on `flush`/`finish`.
final class RegistryRun: RunTracker, @unchecked Sendable {
  let registry: Registry
  let id: Int64
  let name: String
  /// Points per batch.
  var batchSize = 5_000
  /// Seconds between time-driven flushes, so a killed run keeps its recent history.
  var flushInterval = 2.0

  private var pending: [(key: String, step: Int, value: Double, time: Double)] = []
  private var lastFlush = Date().timeIntervalSince1970
  private var deferredError: (any Error)?
  private lazy var insertMetric = try? registry.database.prepare(
    "INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES (?, ?, ?, ?, ?)")
  private lazy var upsertSummary = try? registry.database.prepare(
    """
    INSERT INTO metric_summary(run_id, key, goal, min, max, last, last_step, best, best_step, count)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT(run_id, key) DO UPDATE SET
      min = min(coalesce(metric_summary.min, excluded.min), coalesce(excluded.min, metric_summary.min)),
      max = max(coalesce(metric_summary.max, excluded.max), coalesce(excluded.max, metric_summary.max)),
      last = CASE WHEN excluded.last_step >= metric_summary.last_step THEN excluded.last ELSE metric_summary.last END,
      last_step = max(metric_summary.last_step, excluded.last_step),
      best = CASE WHEN metric_summary.best IS NULL OR (excluded.best IS NOT NULL AND
          ((metric_summary.goal = 'max' AND excluded.best > metric_summary.best) OR
           (metric_summary.goal = 'min' AND excluded.best < metric_summary.best)))
        THEN excluded.best ELSE metric_summary.best END,
      best_step = CASE WHEN metric_summary.best IS NULL OR (excluded.best IS NOT NULL AND
          ((metric_summary.goal = 'max' AND excluded.best > metric_summary.best) OR
           (metric_summary.goal = 'min' AND excluded.best < metric_summary.best)))
        THEN excluded.best_step ELSE metric_summary.best_step END,
      count = metric_summary.count + excluded.count
    """)

  init(registry: Registry, id: Int64, name: String) {
    self.registry = registry
    self.id = id
    self.name = name
  }

  /// `max` for accuracies (keys containing `acc`), `min` for everything else (losses, perplexities).
  static func goal(of key: String) -> String { key.lowercased().contains("acc") ? "max" : "min" }

  func logMetric(_ key: String, step: Int, value: Double) {
    let now = Date().timeIntervalSince1970
    pending.append((key, step, value, now))
    if pending.count >= batchSize || now - lastFlush >= flushInterval {
      do { try flush() } catch { deferredError = deferredError ?? error }
    }
  }

  /// Rebuilds the run's (deleted) metric summaries from its metric history, in logging order;
  /// the caller holds the transaction.
  func resummarize() throws {
    let history = try registry.database.query(
      "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY rowid", [.integer(id)])
    try write(
      summaries: history.rows.map { ($0[0].shellText, Int($0[1].double ?? 0), $0[2].double ?? .nan) }, points: [])
  }

  func flush() throws {
    if let error = deferredError {
      deferredError = nil
      throw error
    }
    lastFlush = Date().timeIntervalSince1970
    guard !pending.isEmpty else { return }
    try registry.database.immediateTransaction {
      try write(summaries: pending.map { ($0.key, $0.step, $0.value) }, points: pending)
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// Inserts `points` into the history and merges the summary of `summarized` (key, step, value
  /// in logging order) into `metric_summary`; the caller holds the transaction.
  private func write(
    summaries summarized: [(key: String, step: Int, value: Double)],
    points batch: [(key: String, step: Int, value: Double, time: Double)]
  ) throws {
    guard let insertMetric, let upsertSummary else {
      throw SQLiteError(code: 1, message: "cannot prepare metric statements", sql: nil)
    }
    var summaries: [String: Summary] = [:]
    var order: [String] = []
    for point in summarized {
      if summaries[point.key] == nil {
        order.append(point.key)
        summaries[point.key] = Summary(goal: Self.goal(of: point.key))
      }
      summaries[point.key]!.add(step: point.step, value: point.value)
    }
    for point in batch {
      try insertMetric.run([
        .integer(id), .text(point.key), .integer(Int64(point.step)), .real(point.value), .real(point.time),
      ])
    }
    for key in order {
      let s = summaries[key]!
      try upsertSummary.run([
        .integer(id), .text(key), .text(s.goal), real(s.min), real(s.max), real(s.last),
        .integer(Int64(s.lastStep)), real(s.best), s.bestStep.map { .integer(Int64($0)) } ?? .null,
        .integer(Int64(s.count)),
      ])
    }
  }

  /// Records the file under its absolute path, so it resolves from any working directory; a
  /// resumed run recording the same file again replaces its row.
  func logArtifact(kind: String, path: String) throws {
    let artifact = try ArtifactRecord(kind: kind, file: path)
    try registry.database.immediateTransaction {
      try registry.database.prepare("DELETE FROM artifacts WHERE run_id = ? AND kind = ? AND path = ?")
        .run([.integer(id), .text(kind), .text(artifact.path)])
      try registry.insertArtifact(artifact, run: id)
    }
  }

  func finish(_ status: RunStatus) throws {
    try flush()
    try registry.database.immediateTransaction {
      try registry.database.prepare("UPDATE runs SET status = ?, ended_at = ? WHERE id = ?")
        .run([.text(status.rawValue), .text(Registry.now()), .integer(id)])
    }
  }

  private func real(_ v: Double?) -> SQLValue { v.map { .real($0) } ?? .null }

  /// Running summary of one key within a batch; NaN values count but set nothing but `last`.
  private struct Summary {
    let goal: String
    var min: Double?
    var max: Double?
    var last: Double?
    var lastStep = Int.min
    var best: Double?
    var bestStep: Int?
    var count = 0

    init(goal: String) { self.goal = goal }

    mutating func add(step: Int, value: Double) {
      count += 1
      if step >= lastStep {
        lastStep = step
        last = value.isNaN ? nil : value
      }
      guard !value.isNaN else { return }
      min = Swift.min(min ?? value, value)
      max = Swift.max(max ?? value, value)
      if best == nil || (goal == "max" ? value > best! : value < best!) {
        best = value
        bestStep = step
      }
    }
  }
}
