import Foundation

/// What happened to one shard.
public struct ShardResult: Sendable {
  /// How the shard ended.
  public enum Status: Sendable, Equatable {
    /// A new store was written.
    case written
    /// A store from the same source sha256 already existed; nothing was done.
    case upToDate
    /// The shard failed; no output was written for it.
    case failed(String)
  }

  /// The input shard path (for a Megatron dataset, its prefix).
  public var shard: String
  /// The output store path.
  public var output: String
  /// Outcome.
  public var status: Status
  /// Documents written.
  public var documents = 0
  /// Tokens written, EOTs included.
  public var tokens = 0
  /// UTF-8 bytes of document text tokenized (none for a Megatron dataset, which holds ids).
  public var textBytes = 0
  /// Lines that gave no document, by reason.
  public var skipped: [LineSkipReason: Int] = [:]
  /// Wall-clock seconds spent on the shard.
  public var seconds = 0.0

  /// Total skipped lines.
  public var skippedLines: Int { skipped.values.reduce(0, +) }

  /// What `work` did with `shard`, timed: `written` unless it says otherwise, `failed` with the
  /// error's text when it throws.
  static func timing(shard: String, output: String, _ work: (inout ShardResult) throws -> Void) -> ShardResult {
    let start = Date()
    var result = ShardResult(shard: shard, output: output, status: .written)
    do { try work(&result) } catch { result.status = .failed("\(error)") }
    result.seconds = Date().timeIntervalSince(start)
    return result
  }
}

/// Errors of the ingest pipeline (other than the storage errors it passes on).
public enum IngestError: Error, CustomStringConvertible {
  /// Ctrl-C (or SIGTERM) stopped the shard before it was complete.
  case interrupted(shard: String)
  /// The shard file cannot be read.
  case unreadable(shard: String, reason: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .interrupted(let shard): "\(shard): interrupted; its partial output was removed"
    case .unreadable(let shard, let reason): "\(shard): cannot read: \(reason)"
    }
  }
}
