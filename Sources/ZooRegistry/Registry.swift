import Foundation
import ZooSupport
import ZooTracking

/// One key's summary over a run's history (`metric_summary`).
public struct MetricSummary: Sendable, Equatable {
  public var key: String
  /// Which value is best, as the logger declared it.
  public var goal: MetricGoal
  public var min: Double?
  public var max: Double?
  public var last: Double?
  public var lastStep: Int
  public var best: Double?
  public var bestStep: Int?
  public var count: Int
}

/// One logged metric point (value nil for NaN).
public struct MetricPoint: Sendable, Equatable {
  public var key: String
  public var step: Int
  public var value: Double?
}

/// A file a run produced.
public struct ArtifactRecord: Sendable, Equatable {
  public var kind: String
  public var path: String
  public var sha256: String
  public var bytes: Int
}

/// The SQLite experiment registry (docs/FORMATS.md, "Registry"): datasets, runs, params, metrics with full
/// history, metric summaries and artifacts. A WAL-mode file is shared safely by several processes
/// on one machine; on a cluster each task writes a file of its own in `DELETE` journal mode and
/// ``merge(from:)`` brings them together. Opening it applies missing migrations and marks runs
/// whose process died as `killed`.
public final class Registry: ExperimentTracker, @unchecked Sendable {
  /// The connection (one per `Registry`; use one `Registry` per thread).
  public let database: SQLiteDatabase
  /// Path of the registry file.
  public var path: String { database.path }
  /// The journal mode the file was opened in.
  public let journalMode: RegistryJournalMode
  /// Seconds between the heartbeats of a run this registry starts or resumes.
  public var heartbeatInterval = 30.0
  /// A `running` run of another host whose `last_seen` is older than this (seconds) is stale: its
  /// process is taken to be gone, and opening the registry marks it `killed`.
  public static let staleAfter = 600.0

  /// The registry path from `--db`, else `$ZOO_DB`, else `./zoo.db`.
  public static func resolvePath(_ option: String?) -> String {
    if let option, !option.isEmpty { return option }
    if let env = ProcessInfo.processInfo.environment["ZOO_DB"], !env.isEmpty { return env }
    return "zoo.db"
  }

  /// Opens (creating if needed) the registry at `path` in journal mode `journal` (default: from
  /// `$ZOO_DB_JOURNAL`, else WAL). WAL on a network file system is refused
  /// (``RegistryError/walOnNetworkFileSystem(path:fileSystem:)``): SQLite's WAL needs shared
  /// memory that such file systems do not share between hosts.
  public init(path: String, journal: RegistryJournalMode? = nil) throws {
    journalMode = try journal ?? RegistryJournalMode.fromEnvironment()
    try AtomicFile.createParentDirectory(of: path)
    if journalMode == .wal, let fileSystem = NetworkFileSystem.name(containing: path) {
      throw RegistryError.walOnNetworkFileSystem(path: path, fileSystem: fileSystem)
    }
    database = try SQLiteDatabase(path: path)
    try configure()
    try migrate()
    try sweepStaleRuns()
  }

  private func configure() throws {
    if journalMode == .delete {
      // One writer per file: no shared memory, locks only while a transaction runs.
      try database.execute("PRAGMA journal_mode=DELETE; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON")
      return
    }
    // Switching to WAL needs a moment of exclusive access; a second process starting at the same
    // instant may see SQLITE_BUSY here even with the busy timeout, so retry briefly.
    var attempt = 0
    while true {
      do {
        try database.execute("PRAGMA journal_mode=WAL")
        break
      } catch let error as SQLiteError where (error.code & 0xff) == 5 && attempt < 200 {
        attempt += 1
        usleep(10_000)
      }
    }
    try database.execute("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON")
  }

  private func migrate() throws {
    // A migration may rebuild a table; with foreign keys on, dropping the old one would delete its
    // children's rows. The pragma has no effect inside a transaction, hence here.
    try database.execute("PRAGMA foreign_keys=OFF")
    defer { try? database.execute("PRAGMA foreign_keys=ON") }
    try database.immediateTransaction {
      try database.execute(
        """
        CREATE TABLE IF NOT EXISTS zoo_migrations (
          version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)
        """)
      let applied = Set(try database.query("SELECT version FROM zoo_migrations").rows.compactMap { row -> Int? in
        if case .integer(let v) = row[0] { return Int(v) } else { return nil }
      })
      let record = try database.prepare("INSERT INTO zoo_migrations(version, name, applied_at) VALUES (?, ?, ?)")
      for migration in RegistrySchema.migrations where !applied.contains(migration.version) {
        try database.execute(migration.sql)
        try record.run([.integer(Int64(migration.version)), .text(migration.name), .text(Registry.now())])
      }
      let dangling = try database.query("PRAGMA foreign_key_check")
      guard dangling.rows.isEmpty else {
        throw SQLiteError(code: 1, message: "migration left \(dangling.rows.count) dangling foreign keys", sql: nil)
      }
    }
  }

  /// Marks `running` runs whose process is gone as `killed` and returns their names: on this host,
  /// those whose pid no longer runs (or runs with another start time); on another host, where no
  /// pid can be checked, those whose heartbeat is older than ``staleAfter``.
  @discardableResult
  public func sweepStaleRuns() throws -> [String] {
    let host = ProcessIdentity.host
    let staleBefore = Date().timeIntervalSince1970 - Registry.staleAfter
    return try database.immediateTransaction {
      let running = try database.query("SELECT id, name, host, pid, pid_start, last_seen FROM runs WHERE status = 'running'")
      let mark = try database.prepare("UPDATE runs SET status = 'killed', ended_at = ? WHERE id = ?")
      var killed: [String] = []
      for row in running.rows {
        guard case .integer(let id) = row[0], case .text(let name) = row[1] else { continue }
        let gone: Bool
        if row[2].shellText == host {
          guard case .integer(let pid) = row[3] else { continue }
          let start: Int64? = if case .integer(let s) = row[4] { s } else { nil }
          gone = !ProcessIdentity.isAlive(pid: Int32(truncatingIfNeeded: pid), startTime: start)
        } else {
          gone = (row[5].double ?? 0) < staleBefore
        }
        if gone {
          try mark.run([.text(Registry.now()), .integer(id)])
          killed.append(name)
        }
      }
      return killed
    }
  }

  /// Current UTC time as ISO 8601.
  static func now() -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: Date())
  }

  // MARK: ExperimentTracker

  /// Records (or replaces, by absolute path) a token store.
  public func recordDataset(_ dataset: DatasetRecord) throws {
    var dataset = dataset
    dataset.path = URL(fileURLWithPath: dataset.path).standardizedFileURL.path
    let skipped = dataset.skipped.keys.sorted().map { "\(jsonString($0)):\(dataset.skipped[$0]!)" }
    try database.immediateTransaction {
      try database.prepare(
        """
        INSERT INTO datasets(path, sha256, source, source_sha256, documents, tokens, subsets, skipped, created_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, source = excluded.source,
          source_sha256 = excluded.source_sha256, documents = excluded.documents, tokens = excluded.tokens,
          subsets = excluded.subsets, skipped = excluded.skipped, created_at = excluded.created_at
        """
      ).run([
        .text(dataset.path), .text(dataset.sha256), .text(dataset.source), .text(dataset.sourceSHA256),
        .integer(Int64(dataset.documents)), .integer(Int64(dataset.tokens)),
        .text("[" + dataset.subsets.map(jsonString).joined(separator: ",") + "]"),
        .text("{" + skipped.joined(separator: ",") + "}"), .text(Registry.now()),
      ])
    }
  }

  /// The token store recorded at `path` (made absolute), nil when there is none.
  public func dataset(atPath path: String) throws -> DatasetRecord? {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
    let rows = try database.query(
      "SELECT path, sha256, source, source_sha256, documents, tokens, subsets, skipped FROM datasets WHERE path = ?",
      [.text(absolute)]
    ).rows
    guard let row = rows.first else { return nil }
    func json<T: Decodable>(_ value: SQLValue, as: T.Type) -> T? {
      try? JSONDecoder().decode(T.self, from: Data(value.shellText.utf8))
    }
    return DatasetRecord(
      path: row[0].shellText, sha256: row[1].shellText, source: row[2].shellText, sourceSHA256: row[3].shellText,
      documents: Int(row[4].double ?? 0), tokens: Int(row[5].double ?? 0),
      subsets: json(row[6], as: [String].self) ?? [], skipped: json(row[7], as: [String: Int].self) ?? [:])
  }

  /// Starts a run owned by this process; a duplicate name is an error.
  public func startRun(_ spec: RunSpec) throws -> any RunTracker {
    let id: Int64 = try database.immediateTransaction {
      let exists = try database.query("SELECT 1 FROM runs WHERE name = ?", [.text(spec.name)])
      guard exists.rows.isEmpty else { throw TrackerError.duplicateRun(spec.name) }
      return try insertRun(spec, finished: false)
    }
    return try RegistryRun(registry: self, id: id, name: spec.name, heartbeat: heartbeatInterval)
  }

  /// Inserts a run with a new uuid and its params (inside the caller's transaction): `running`
  /// and owned by this process, or, with `finished`, already `finished` and owned by none.
  /// Returns its id.
  func insertRun(_ spec: RunSpec, finished: Bool) throws -> Int64 {
    let now = Registry.now()
    try database.prepare(
      """
      INSERT INTO runs(name, kind, mixer, status, config, started_at, ended_at, host, pid, pid_start, git_commit, zoo_version,
        uuid, last_seen)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """
    ).run([
      .text(spec.name), .text(spec.kind.rawValue), .text(spec.mixer), .text(finished ? "finished" : "running"),
      .text(spec.configJSON), .text(now), finished ? .text(now) : .null, .text(ProcessIdentity.host),
      finished ? .null : .integer(Int64(ProcessIdentity.pid)),
      finished ? .null : ProcessIdentity.startTime(of: ProcessIdentity.pid).map { .integer($0) } ?? .null,
      ProcessIdentity.gitCommit().map { .text($0) } ?? .null, .text(zooVersion),
      .text(UUID().uuidString.lowercased()), .real(Date().timeIntervalSince1970),
    ])
    let id = database.lastInsertRowID
    let param = try database.prepare("INSERT INTO params(run_id, key, value) VALUES (?, ?, ?)")
    for key in spec.params.keys.sorted() { try param.run([.integer(id), .text(key), .text(spec.params[key]!)]) }
    return id
  }

  /// Reopens a run for `--resume`: back to `running`, owned by this process. Metric points after
  /// `step` and those of `redoneKeys` are deleted (a killed process logged them past its last
  /// checkpoint) and the run's metric summaries are recomputed from the points that remain.
  public func resumeRun(named name: String, after step: Int = .max, redoing redoneKeys: [String] = []) throws -> any RunTracker {
    try database.immediateTransaction {
      guard let run = try self.run(named: name) else { throw TrackerError.unknownRun(name) }
      try database.prepare(
        "UPDATE runs SET status = 'running', ended_at = NULL, host = ?, pid = ?, pid_start = ?, last_seen = ? WHERE id = ?"
      ).run([
        .text(ProcessIdentity.host), .integer(Int64(ProcessIdentity.pid)),
        ProcessIdentity.startTime(of: ProcessIdentity.pid).map { .integer($0) } ?? .null,
        .real(Date().timeIntervalSince1970), .integer(run.id),
      ])
      let goals = Dictionary(
        uniqueKeysWithValues: try database.query("SELECT key, goal FROM metric_summary WHERE run_id = ?", [.integer(run.id)])
          .rows.map { ($0[0].shellText, MetricGoal(rawValue: $0[1].shellText) ?? .none) })
      let drop = try database.prepare("DELETE FROM metrics WHERE run_id = ? AND (step > ? OR key = ?)")
      for key in redoneKeys.isEmpty ? [""] : redoneKeys {
        try drop.run([.integer(run.id), .integer(Int64(step)), .text(key)])
      }
      try database.prepare("DELETE FROM metric_summary WHERE run_id = ?").run([.integer(run.id)])
      let resumed = try RegistryRun(registry: self, id: run.id, name: name, heartbeat: heartbeatInterval)
      try resumed.resummarize(goals: goals)
      return resumed
    }
  }

  /// Records one `zoo-analyze` invocation: its subcommand, settings and the files it wrote.
  public func recordAnalysis(command: String, arguments: [String: String], outputs: [String]) throws {
    let args = "{" + arguments.keys.sorted().map { "\(jsonString($0)):\(jsonString(arguments[$0]!))" }.joined(separator: ",") + "}"
    let files = "[" + outputs.map { jsonString(URL(fileURLWithPath: $0).standardizedFileURL.path) }.joined(separator: ",") + "]"
    try database.immediateTransaction {
      try database.prepare(
        "INSERT INTO analyses(command, arguments, outputs, created_at, host, zoo_version) VALUES (?, ?, ?, ?, ?, ?)"
      ).run([.text(command), .text(args), .text(files), .text(Registry.now()), .text(ProcessIdentity.host), .text(zooVersion)])
    }
  }

  // MARK: Reading

  /// All runs, oldest first.
  public func runs() throws -> [RunRecord] {
    try database.query("SELECT \(RunRecord.columns()) FROM runs ORDER BY id").rows.map(RunRecord.init(row:))
  }

  /// The run named `name`, nil when there is none.
  public func run(named name: String) throws -> RunRecord? {
    try database.query("SELECT \(RunRecord.columns()) FROM runs WHERE name = ?", [.text(name)]).rows.first.map(RunRecord.init(row:))
  }

  /// The run named `name`, or ``TrackerError/unknownRun(_:)``.
  public func requireRun(named name: String) throws -> RunRecord {
    guard let run = try run(named: name) else { throw TrackerError.unknownRun(name) }
    return run
  }

  /// The status of the run named `name`.
  public func runStatus(named name: String) throws -> RunStatus { try requireRun(named: name).status }

  /// A run's params, sorted by key.
  public func params(ofRun name: String) throws -> [(key: String, value: String)] {
    let run = try requireRun(named: name)
    return try database.query("SELECT key, value FROM params WHERE run_id = ? ORDER BY key", [.integer(run.id)])
      .rows.map { ($0[0].shellText, $0[1].shellText) }
  }

  /// A run's metric summaries, sorted by key.
  public func summaries(ofRun name: String) throws -> [MetricSummary] {
    let run = try requireRun(named: name)
    return try database.query(
      """
      SELECT key, goal, min, max, last, last_step, best, best_step, count FROM metric_summary
      WHERE run_id = ? ORDER BY key
      """, [.integer(run.id)]
    ).rows.map { row in
      MetricSummary(
        key: row[0].shellText, goal: MetricGoal(rawValue: row[1].shellText) ?? .none, min: row[2].double, max: row[3].double, last: row[4].double,
        lastStep: Int(row[5].double ?? 0), best: row[6].double, bestStep: row[7].double.map { Int($0) },
        count: Int(row[8].double ?? 0))
    }
  }

  /// A run's metric history (one key or all), in key then step order.
  public func metrics(ofRun name: String, key: String? = nil) throws -> [MetricPoint] {
    let run = try requireRun(named: name)
    let result =
      if let key {
        try database.query(
          "SELECT key, step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid",
          [.integer(run.id), .text(key)])
      } else {
        try database.query(
          "SELECT key, step, value FROM metrics WHERE run_id = ? ORDER BY key, step, rowid", [.integer(run.id)])
      }
    return result.rows.map { MetricPoint(key: $0[0].shellText, step: Int($0[1].double ?? 0), value: $0[2].double) }
  }

  /// A run's artifacts, in the order recorded.
  public func artifacts(ofRun name: String) throws -> [ArtifactRecord] {
    let run = try requireRun(named: name)
    return try database.query(
      "SELECT kind, path, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY id", [.integer(run.id)]
    ).rows.map { ArtifactRecord(kind: $0[0].shellText, path: $0[1].shellText, sha256: $0[2].shellText, bytes: Int($0[3].double ?? 0)) }
  }

  /// Deletes a run with its params, metrics, summaries and artifact records (not the files).
  public func deleteRun(named name: String) throws {
    try database.immediateTransaction {
      let run = try requireRun(named: name)
      try database.prepare("DELETE FROM runs WHERE id = ?").run([.integer(run.id)])
    }
  }

  /// Paths of the recorded token stores whose file has this sha256 (most recent first).
  public func datasetPaths(sha256: String) throws -> [String] {
    try database.query("SELECT path FROM datasets WHERE sha256 = ? ORDER BY id DESC", [.text(sha256)]).rows.map { $0[0].shellText }
  }

  /// Runs arbitrary SQL (a `queries/*.sql` file) and returns its columns and rows.
  public func query(_ sql: String) throws -> (columns: [String], rows: [[SQLValue]]) {
    try database.query(sql)
  }
}

/// A JSON string literal for `s`.
func jsonString(_ s: String) -> String {
  var out = "\""
  for scalar in s.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\r": out += "\\r"
    case "\t": out += "\\t"
    case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}
