/// Errors opening or merging registry files (SQLite's own are ``SQLiteError``).
public enum RegistryError: Error, CustomStringConvertible, Equatable {
  /// A registry file in WAL mode on a network file system, where WAL does not work.
  case walOnNetworkFileSystem(path: String, fileSystem: String)
  /// `$ZOO_DB_JOURNAL` is neither `wal` nor `delete`.
  case unknownJournalMode(String)
  /// A file to merge is not a registry of this schema.
  case notMergeable(path: String, reason: String)

  /// A one-line message naming the file and the fix.
  public var description: String {
    switch self {
    case .walOnNetworkFileSystem(let path, let fileSystem):
      "\(path): on a network file system (\(fileSystem)), where SQLite's WAL mode is unsafe; set ZOO_DB_JOURNAL=delete "
        + "and give each writing process (each Slurm task) a registry file of its own, then merge them"
    case .unknownJournalMode(let value): "ZOO_DB_JOURNAL=\(value): not a journal mode (wal or delete)"
    case .notMergeable(let path, let reason): "\(path): cannot merge: \(reason)"
    }
  }
}
