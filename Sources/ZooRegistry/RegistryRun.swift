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

  private var pending: [(metric: Metric, step: Int, value: Double, time: Double)] = []
  private let heartbeat: Heartbeat?
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

  /// The handle of run `id`; with `heartbeat`, its `last_seen` is refreshed every that many seconds
  /// until it finishes.
  init(registry: Registry, id: Int64, name: String, heartbeat: Double? = nil) throws {
    self.registry = registry
    self.id = id
    self.name = name
    self.heartbeat = heartbeat.map { Heartbeat(path: registry.path, runID: id, interval: $0) }
  }

  func logMetric(_ metric: Metric, step: Int, value: Double) {
    let now = Date().timeIntervalSince1970
    pending.append((metric, step, value, now))
    if pending.count >= batchSize || now - lastFlush >= flushInterval {
      do { try flush() } catch { deferredError = deferredError ?? error }
    }
  }

  /// Rebuilds the run's (deleted) metric summaries from its metric history, in logging order,
  /// each key with its goal in `goals` (`none` for a key not there); the caller holds the transaction.
  func resummarize(goals: [String: MetricGoal]) throws {
    let history = try registry.database.query(
      "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY rowid", [.integer(id)])
    try write(
      summaries: history.rows.map {
        (Metric($0[0].shellText, goal: goals[$0[0].shellText] ?? .none), Int($0[1].double ?? 0), $0[2].double ?? .nan)
      }, points: [])
  }

  func flush() throws {
    if let error = deferredError {
      deferredError = nil
      throw error
    }
    lastFlush = Date().timeIntervalSince1970
    guard !pending.isEmpty else { return }
    try registry.database.immediateTransaction {
      try write(summaries: pending.map { ($0.metric, $0.step, $0.value) }, points: pending)
      try touch()
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// Sets the run's `last_seen` to now (inside the caller's transaction): every write is a sign of
  /// life, and `last_seen` orders copies of the run for ``Registry/merge(from:)``.
  private func touch() throws {
    try registry.database.prepare("UPDATE runs SET last_seen = ? WHERE id = ?")
      .run([.real(Date().timeIntervalSince1970), .integer(id)])
  }

  /// Inserts `points` into the history and merges the summary of `summarized` (metric, step,
  /// value in logging order) into `metric_summary`; the caller holds the transaction.
  private func write(
    summaries summarized: [(metric: Metric, step: Int, value: Double)],
    points batch: [(metric: Metric, step: Int, value: Double, time: Double)]
  ) throws {
    guard let insertMetric, let upsertSummary else {
      throw SQLiteError(code: 1, message: "cannot prepare metric statements", sql: nil)
    }
    var summaries: [String: Summary] = [:]
    var order: [String] = []
    for point in summarized {
      let key = point.metric.key
      if summaries[key] == nil {
        order.append(key)
        summaries[key] = Summary(goal: point.metric.goal)
      }
      summaries[key]!.add(step: point.step, value: point.value)
    }
    for point in batch {
      try insertMetric.run([
        .integer(id), .text(point.metric.key), .integer(Int64(point.step)), .real(point.value), .real(point.time),
      ])
    }
    for key in order {
      let s = summaries[key]!
      try upsertSummary.run([
        .integer(id), .text(key), .text(s.goal.rawValue), real(s.min), real(s.max), real(s.last),
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
      try touch()
    }
  }

  func finish(_ status: RunStatus) throws {
    heartbeat?.stop()
    try flush()
    try registry.database.immediateTransaction {
      try registry.database.prepare("UPDATE runs SET status = ?, ended_at = ? WHERE id = ?")
        .run([.text(status.rawValue), .text(Registry.now()), .integer(id)])
      try touch()
    }
  }

  private func real(_ v: Double?) -> SQLValue { v.map { .real($0) } ?? .null }

  /// Running summary of one key within a batch; NaN values count but set nothing but `last`, and
  /// a `none` goal keeps no best.
  private struct Summary {
    let goal: MetricGoal
    var min: Double?
    var max: Double?
    var last: Double?
    var lastStep = Int.min
    var best: Double?
    var bestStep: Int?
    var count = 0

    init(goal: MetricGoal) { self.goal = goal }

    mutating func add(step: Int, value: Double) {
      count += 1
      if step >= lastStep {
        lastStep = step
        last = value.isNaN ? nil : value
      }
      guard !value.isNaN else { return }
      min = Swift.min(min ?? value, value)
      max = Swift.max(max ?? value, value)
      guard goal != .none else { return }
      if best == nil || (goal == .max ? value > best! : value < best!) {
        best = value
        bestStep = step
      }
    }
  }
}
