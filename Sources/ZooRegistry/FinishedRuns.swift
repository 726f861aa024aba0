import Foundation
import ZooSupport
import ZooTracking

/// What ``Registry/addFinishedRun(_:metrics:artifact:)`` did.
public enum AddRunResult: Sendable, Equatable {
  /// The run was recorded.
  case added
  /// The run was already recorded with this very artifact; nothing changed.
  case unchanged
}

extension ArtifactRecord {
  /// The record of the file at `file`: its absolute path (so it resolves from any working
  /// directory), size and sha256.
  public init(kind: String, file: String) throws {
    let path = URL(fileURLWithPath: file).standardizedFileURL.path
    let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    self.init(kind: kind, path: path, sha256: try SHA256.hex(ofFile: path), bytes: bytes)
  }
}

extension Registry {
  /// Inserts an artifact row (inside the caller's transaction).
  func insertArtifact(_ artifact: ArtifactRecord, run id: Int64) throws {
    try database.prepare(
      "INSERT INTO artifacts(run_id, kind, path, sha256, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)"
    ).run([
      .integer(id), .text(artifact.kind), .text(artifact.path), .text(artifact.sha256), .integer(Int64(artifact.bytes)),
      .text(Registry.now()),
    ])
  }

  /// Records a run that happened outside Zoo's trainers (e.g. `zoo-score`'s losses of a PyTorch
  /// model), whole, in one transaction: the run as `finished`, its params, each metric as one
  /// point at step 0, and the artifact. A run of that name that already holds this artifact (same
  /// kind, path and sha256) is left as it is; any other run of that name is an error.
  public func addFinishedRun(_ spec: RunSpec, metrics: [Metric: Double], artifact: ArtifactRecord) throws -> AddRunResult {
    try database.immediateTransaction {
      if let existing = try run(named: spec.name) {
        let same = try artifacts(ofRun: spec.name).contains {
          $0.kind == artifact.kind && $0.path == artifact.path && $0.sha256 == artifact.sha256
        }
        if same && existing.kind == spec.kind.rawValue { return .unchanged }
        let files = try artifacts(ofRun: spec.name).filter { $0.kind == artifact.kind }.map(\.path)
        throw TrackerError.conflictingRun(
          spec.name,
          reason: "kind \(existing.kind), \(artifact.kind) \(files.isEmpty ? "none" : files.joined(separator: ", ")); "
            + "not \(artifact.path) (sha256 \(artifact.sha256.prefix(12))…); delete that run first or use another name")
      }
      let id = try insertRun(spec, finished: true)
      let point = try database.prepare("INSERT INTO metrics(run_id, key, step, value, wall_time) VALUES (?, ?, 0, ?, ?)")
      let summary = try database.prepare(
        """
        INSERT INTO metric_summary(run_id, key, goal, min, max, last, last_step, best, best_step, count)
        VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, 1)
        """)
      for metric in metrics.keys.sorted(by: { $0.key < $1.key }) {
        let value: SQLValue = metrics[metric]!.isNaN ? .null : .real(metrics[metric]!)
        let best: (SQLValue, SQLValue) = metric.goal == .none || value == .null ? (.null, .null) : (value, .integer(0))
        try point.run([.integer(id), .text(metric.key), value, .real(Date().timeIntervalSince1970)])
        try summary.run([.integer(id), .text(metric.key), .text(metric.goal.rawValue), value, value, value, best.0, best.1])
      }
      try insertArtifact(artifact, run: id)
      return .added
    }
  }
}
