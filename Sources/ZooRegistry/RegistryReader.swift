import Foundation
import ZooTracking

/// One row of the runs overview: the run with totals over its metric summaries.
public struct RunOverview: Sendable, Equatable {
  public var run: RunRecord
  /// Highest step logged under any key (nil before the first point).
  public var lastStep: Int?
  /// Metric points logged, all keys together.
  public var points: Int
}

/// An artifact with its registry id.
public struct ListedArtifact: Sendable, Equatable {
  public var id: Int64
  public var runName: String
  public var artifact: ArtifactRecord
}

/// One recorded `zoo-analyze` invocation (`analyses` table).
public struct AnalysisRecord: Sendable, Equatable {
  public var id: Int64
  public var command: String
  /// Its settings, as recorded (a JSON object of strings).
  public var arguments: [String: String]
  /// Absolute paths of the files it wrote.
  public var outputs: [String]
  public var createdAt: String
}

/// A read-only connection to the registry (`SQLITE_OPEN_READONLY`): it never creates the file,
/// migrates or sweeps, and reads a consistent snapshot per statement while runs write in WAL mode.
/// Not thread-safe: one reader per thread or request.
public final class RegistryReader {
  /// The connection.
  public let database: SQLiteDatabase

  /// Opens the registry at `path` read-only; a missing file is an error (nothing is created).
  public init(path: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
      throw SQLiteError(code: 14, message: "no registry at \(path)", sql: nil)
    }
    database = try SQLiteDatabase(path: path, readOnly: true, busyTimeoutMilliseconds: 5_000)
  }

  /// Every run with its last step and point count, oldest first.
  public func runOverviews() throws -> [RunOverview] {
    try database.query(
      """
      SELECT \(RunRecord.columns(of: "r")), (SELECT max(last_step) FROM metric_summary s WHERE s.run_id = r.id),
        (SELECT coalesce(sum(count), 0) FROM metric_summary s WHERE s.run_id = r.id)
      FROM runs r ORDER BY r.id
      """
    ).rows.map { row in
      RunOverview(run: RunRecord(row: row), lastStep: row[13].double.map { Int($0) }, points: Int(row[14].double ?? 0))
    }
  }

  /// The run named `name`, nil when there is none.
  public func run(named name: String) throws -> RunRecord? {
    try database.query("SELECT \(RunRecord.columns(of: "r")) FROM runs r WHERE r.name = ?", [.text(name)]).rows.first.map(RunRecord.init(row:))
  }

  /// A run's params, sorted by key.
  public func params(ofRun id: Int64) throws -> [(key: String, value: String)] {
    try database.query("SELECT key, value FROM params WHERE run_id = ? ORDER BY key", [.integer(id)])
      .rows.map { ($0[0].shellText, $0[1].shellText) }
  }

  /// A run's metric summaries, sorted by key.
  public func summaries(ofRun id: Int64) throws -> [MetricSummary] {
    try database.query(
      "SELECT key, goal, min, max, last, last_step, best, best_step, count FROM metric_summary WHERE run_id = ? ORDER BY key",
      [.integer(id)]
    ).rows.map { row in
      MetricSummary(
        key: row[0].shellText, goal: MetricGoal(rawValue: row[1].shellText) ?? .none, min: row[2].double, max: row[3].double, last: row[4].double,
        lastStep: Int(row[5].double ?? 0), best: row[6].double, bestStep: row[7].double.map { Int($0) },
        count: Int(row[8].double ?? 0))
    }
  }

  /// Steps and values (nil for NaN) of one key of a run, in step order.
  public func series(ofRun id: Int64, key: String) throws -> (steps: [Int], values: [Double?]) {
    let statement = try database.prepare("SELECT step, value FROM metrics WHERE run_id = ? AND key = ? ORDER BY step, rowid")
    try statement.bind([.integer(id), .text(key)])
    var steps: [Int] = []
    var values: [Double?] = []
    while try statement.step() {
      steps.append(Int(statement.int(0)))
      values.append(statement.double(1))
    }
    return (steps, values)
  }

  /// A run's artifacts with their ids, in the order recorded.
  public func artifacts(ofRun id: Int64) throws -> [ListedArtifact] {
    try database.query(
      "SELECT a.id, r.name, a.kind, a.path, a.sha256, a.bytes FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE a.run_id = ? ORDER BY a.id",
      [.integer(id)]
    ).rows.map(Self.listedArtifact)
  }

  /// The artifact with this id, nil when the registry lists none.
  public func artifact(id: Int64) throws -> ListedArtifact? {
    try database.query(
      "SELECT a.id, r.name, a.kind, a.path, a.sha256, a.bytes FROM artifacts a JOIN runs r ON r.id = a.run_id WHERE a.id = ?",
      [.integer(id)]
    ).rows.first.map(Self.listedArtifact)
  }

  private static func listedArtifact(_ row: [SQLValue]) -> ListedArtifact {
    ListedArtifact(
      id: Int64(row[0].double ?? 0), runName: row[1].shellText,
      artifact: ArtifactRecord(kind: row[2].shellText, path: row[3].shellText, sha256: row[4].shellText, bytes: Int(row[5].double ?? 0)))
  }

  /// Recorded analyses of one `zoo-analyze` subcommand, newest first.
  public func analyses(command: String) throws -> [AnalysisRecord] {
    try database.query(
      "SELECT id, command, arguments, outputs, created_at FROM analyses WHERE command = ? ORDER BY id DESC", [.text(command)]
    ).rows.map { row in
      let arguments = (try? JSONSerialization.jsonObject(with: Data(row[2].shellText.utf8))) as? [String: String] ?? [:]
      let outputs = (try? JSONSerialization.jsonObject(with: Data(row[3].shellText.utf8))) as? [String] ?? []
      return AnalysisRecord(
        id: Int64(row[0].double ?? 0), command: row[1].shellText, arguments: arguments, outputs: outputs,
        createdAt: row[4].shellText)
    }
  }

  /// Runs one read statement (a `queries/*.sql` file); the connection is read-only, so it cannot write.
  public func query(_ sql: String) throws -> (columns: [String], rows: [[SQLValue]]) {
    try database.query(sql)
  }
}
