import ZooTracking

/// A run as stored in the registry.
public struct RunRecord: Sendable, Equatable {
  public var id: Int64
  public var name: String
  public var kind: String
  public var mixer: String
  public var status: RunStatus
  public var config: String
  public var startedAt: String
  public var endedAt: String?
  public var host: String
  public var pid: Int64?
  public var gitCommit: String?
  /// The run's identity across registry files (``Registry/merge(from:)`` matches runs by it).
  public var uuid: String
  /// When the run's process last wrote or beat (seconds since 1970).
  public var lastSeen: Double?
}

extension RunRecord {
  /// The `runs` columns ``init(row:)`` reads, in its order; each qualified as `table.column` when
  /// a table alias is given.
  static func columns(of table: String? = nil) -> String {
    let prefix = table.map { $0 + "." } ?? ""
    return ["id", "name", "kind", "mixer", "status", "config", "started_at", "ended_at", "host", "pid", "git_commit", "uuid", "last_seen"]
      .map { prefix + $0 }.joined(separator: ", ")
  }

  /// The run in a row that starts with ``columns(of:)``.
  init(row: [SQLValue]) {
    func int(_ v: SQLValue) -> Int64? { if case .integer(let x) = v { x } else { nil } }
    self.init(
      id: int(row[0]) ?? 0, name: row[1].shellText, kind: row[2].shellText, mixer: row[3].shellText,
      status: RunStatus(rawValue: row[4].shellText) ?? .failed, config: row[5].shellText,
      startedAt: row[6].shellText, endedAt: row[7].string, host: row[8].shellText, pid: int(row[9]),
      gitCommit: row[10].string, uuid: row[11].shellText, lastSeen: row[12].double)
  }
}
