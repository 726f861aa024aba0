import Foundation
import ZooTracking

/// What one ``Registry/merge(from:)`` did.
public struct MergeReport: Sendable, Equatable {
  /// Runs new to this registry.
  public var runsAdded: [String] = []
  /// Runs replaced by a newer copy (a later `last_seen`): the same uuid, or an unfinished run of
  /// that name that a rerun superseded.
  public var runsUpdated: [String] = []
  /// Runs already here as they are in the file (or older there).
  public var runsUnchanged = 0
  /// Finished runs of the file left out because a finished run of that name with another uuid is here.
  public var conflicts: [String] = []
  /// Token stores new to this registry, by path.
  public var datasetsAdded = 0
  /// Token stores whose row changed (the file's is newer).
  public var datasetsUpdated = 0
  /// Token stores already recorded as they are.
  public var datasetsUnchanged = 0
  /// `zoo-analyze` records new to this registry.
  public var analysesAdded = 0

  /// An empty report.
  public init() {}
}

extension Registry {
  private static let runFields =
    "name, kind, mixer, status, config, started_at, ended_at, host, pid, pid_start, git_commit, zoo_version, uuid, last_seen"

  /// Brings the registry file at `source` (a Slurm task's own registry, say) into this one, in one
  /// transaction, idempotently: runs by uuid with their params, metric history, summaries and
  /// artifacts (a copy replaces the one here only when its `last_seen` is later, so merging the
  /// same file again changes nothing); token stores by path; analyses when no identical record is
  /// here. `source` is only read; it must have this registry's schema.
  public func merge(from source: String) throws -> MergeReport {
    guard FileManager.default.fileExists(atPath: source) else { throw RegistryError.notMergeable(path: source, reason: "no such file") }
    let absolute = { (p: String) in URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
    guard absolute(source) != absolute(path) else {
      throw RegistryError.notMergeable(path: source, reason: "it is the registry being merged into")
    }
    try database.prepare("ATTACH DATABASE ? AS src").run([.text(source)])
    defer { try? database.execute("DETACH DATABASE src") }
    let latest = RegistrySchema.migrations.last!.version
    let version: Int
    do {
      version = Int(try database.query("SELECT max(version) FROM src.zoo_migrations").rows.first?[0].double ?? 0)
    } catch let error as SQLiteError {
      throw RegistryError.notMergeable(path: source, reason: "not a Zoo registry (\(error.message))")
    }
    guard version == latest else {
      throw RegistryError.notMergeable(
        path: source, reason: "schema version \(version), not \(latest) (open it once with this Zoo to migrate it)")
    }
    return try database.immediateTransaction {
      var report = MergeReport()
      try mergeRuns(into: &report)
      try mergeDatasets(into: &report)
      try database.execute(
        """
        INSERT INTO main.analyses(command, arguments, outputs, created_at, host, zoo_version)
        SELECT command, arguments, outputs, created_at, host, zoo_version FROM src.analyses s
        WHERE NOT EXISTS (SELECT 1 FROM main.analyses a WHERE a.command = s.command AND a.arguments = s.arguments
          AND a.outputs = s.outputs AND a.created_at = s.created_at AND a.host = s.host)
        ORDER BY s.id
        """)
      report.analysesAdded = database.changes
      return report
    }
  }

  private func mergeRuns(into report: inout MergeReport) throws {
    let byUUID = try database.prepare("SELECT id, last_seen FROM main.runs WHERE uuid = ?")
    let byName = try database.prepare("SELECT id, last_seen, status FROM main.runs WHERE name = ?")
    for row in try database.query("SELECT id, uuid, name, status, last_seen FROM src.runs ORDER BY id").rows {
      guard case .integer(let sourceID) = row[0] else { continue }
      let name = row[2].shellText
      let lastSeen = row[4].double ?? 0
      try byUUID.bind([row[1]])
      if try byUUID.step() {
        let (id, seen) = (byUUID.int(0), byUUID.double(1) ?? 0)
        if lastSeen > seen {
          try replaceRun(id, with: sourceID)
          report.runsUpdated.append(name)
        } else {
          report.runsUnchanged += 1
        }
        continue
      }
      try byName.bind([.text(name)])
      if try byName.step() {
        let (id, seen, status) = (byName.int(0), byName.double(1) ?? 0, byName.text(2))
        if status == RunStatus.finished.rawValue {
          if row[3].shellText == RunStatus.finished.rawValue { report.conflicts.append(name) } else { report.runsUnchanged += 1 }
        } else if lastSeen > seen {
          try replaceRun(id, with: sourceID)
          report.runsUpdated.append(name)
        } else {
          report.runsUnchanged += 1
        }
        continue
      }
      try database.prepare("INSERT INTO main.runs(\(Self.runFields)) SELECT \(Self.runFields) FROM src.runs WHERE id = ?")
        .run([.integer(sourceID)])
      try copyChildren(of: sourceID, to: database.lastInsertRowID)
      report.runsAdded.append(name)
    }
  }

  /// Overwrites run `id` (keeping its id) with the file's run `sourceID` and its rows.
  private func replaceRun(_ id: Int64, with sourceID: Int64) throws {
    try database.prepare("UPDATE main.runs SET (\(Self.runFields)) = (SELECT \(Self.runFields) FROM src.runs WHERE id = ?) WHERE id = ?")
      .run([.integer(sourceID), .integer(id)])
    for table in ["params", "metrics", "metric_summary", "artifacts"] {
      try database.prepare("DELETE FROM main.\(table) WHERE run_id = ?").run([.integer(id)])
    }
    try copyChildren(of: sourceID, to: id)
  }

  private func copyChildren(of sourceID: Int64, to id: Int64) throws {
    for sql in [
      "INSERT INTO main.params(run_id, key, value) SELECT ?, key, value FROM src.params WHERE run_id = ? ORDER BY key",
      """
      INSERT INTO main.metrics(run_id, key, step, value, wall_time)
      SELECT ?, key, step, value, wall_time FROM src.metrics WHERE run_id = ? ORDER BY rowid
      """,
      """
      INSERT INTO main.metric_summary(run_id, key, goal, min, max, last, last_step, best, best_step, count)
      SELECT ?, key, goal, min, max, last, last_step, best, best_step, count FROM src.metric_summary WHERE run_id = ? ORDER BY key
      """,
      """
      INSERT INTO main.artifacts(run_id, kind, path, sha256, bytes, created_at)
      SELECT ?, kind, path, sha256, bytes, created_at FROM src.artifacts WHERE run_id = ? ORDER BY id
      """,
    ] {
      try database.prepare(sql).run([.integer(id), .integer(sourceID)])
    }
  }

  private func mergeDatasets(into report: inout MergeReport) throws {
    let columns = "path, sha256, source, source_sha256, documents, tokens, subsets, skipped, created_at"
    let existing = try database.prepare("SELECT \(columns) FROM main.datasets WHERE path = ?")
    for row in try database.query("SELECT \(columns) FROM src.datasets ORDER BY id").rows {
      try existing.bind([row[0]])
      guard try existing.step() else {
        try database.prepare("INSERT INTO main.datasets(\(columns)) SELECT \(columns) FROM src.datasets WHERE path = ?").run([row[0]])
        report.datasetsAdded += 1
        continue
      }
      let here = (0..<9).map { existing.value($0) }
      if Array(here[0..<8]) == Array(row[0..<8]) || row[8].shellText < here[8].shellText {
        report.datasetsUnchanged += 1
        continue
      }
      try database.prepare(
        """
        UPDATE main.datasets SET (\(columns)) = (SELECT \(columns) FROM src.datasets WHERE path = ?) WHERE path = ?
        """
      ).run([row[0], row[0]])
      report.datasetsUpdated += 1
    }
  }
}
