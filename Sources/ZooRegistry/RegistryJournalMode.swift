import Foundation

/// How SQLite keeps the registry's journal.
public enum RegistryJournalMode: String, Sendable, CaseIterable {
  /// Write-ahead log: many processes on one machine read and write at once. Needs shared memory,
  /// so never on a network file system.
  case wal
  /// Rollback journal (`DELETE`): safe on a network file system for a file that one process
  /// writes at a time, as each Slurm task's own registry is.
  case delete

  /// `$ZOO_DB_JOURNAL` (`wal` or `delete`), else `wal`.
  public static func fromEnvironment() throws -> RegistryJournalMode {
    guard let value = ProcessInfo.processInfo.environment["ZOO_DB_JOURNAL"], !value.isEmpty else { return .wal }
    guard let mode = RegistryJournalMode(rawValue: value.lowercased()) else { throw RegistryError.unknownJournalMode(value) }
    return mode
  }
}
