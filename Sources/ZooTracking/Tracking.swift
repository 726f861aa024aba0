import Foundation

/// What a run is: a language model on token stores, the MQAR synthetic task, or a scored model.
public enum RunKind: String, Codable, Sendable, CaseIterable {
  case lm
  case mqar
  /// Per-token losses computed outside Zoo's trainers (`zoo-score`, any PyTorch model).
  case scored
}

/// A run's life cycle. `killed` is set by the registry for runs whose process died.
public enum RunStatus: String, Codable, Sendable, CaseIterable {
  case running
  case finished
  case failed
  case killed
}

/// One token store written by `zoo-ingest` (docs/FORMATS.md, "Token store").
public struct DatasetRecord: Sendable, Equatable {
  /// Path of the `.h5` store.
  public var path: String
  /// sha256 of the store file.
  public var sha256: String
  /// The shard file name it was made from.
  public var source: String
  /// sha256 of the source shard.
  public var sourceSHA256: String
  /// Number of documents.
  public var documents: Int
  /// Number of tokens, EOTs included.
  public var tokens: Int
  /// Pile subset names (`meta.pile_set_name`), in the store's index order.
  public var subsets: [String]
  /// Input lines skipped, by reason (e.g. `malformed_json`, `missing_text`, `invalid_utf8`).
  public var skipped: [String: Int]

  /// A dataset record.
  public init(
    path: String, sha256: String, source: String, sourceSHA256: String, documents: Int, tokens: Int,
    subsets: [String], skipped: [String: Int]
  ) {
    self.path = path
    self.sha256 = sha256
    self.source = source
    self.sourceSHA256 = sourceSHA256
    self.documents = documents
    self.tokens = tokens
    self.subsets = subsets
    self.skipped = skipped
  }
}

/// What a run is, at its start: its unique name, kind, mixer and canonical config.
public struct RunSpec: Sendable, Equatable {
  /// Unique run name.
  public var name: String
  /// `lm` or `mqar`.
  public var kind: RunKind
  /// Mixer name (or a `+`-joined list for hybrids).
  public var mixer: String
  /// The canonical config JSON (sorted keys), stored verbatim.
  public var configJSON: String
  /// Flat parameters copied from the config (`lr`, `d_model`, ...), for queries.
  public var params: [String: String]

  /// A run spec.
  public init(name: String, kind: RunKind, mixer: String, configJSON: String, params: [String: String]) {
    self.name = name
    self.kind = kind
    self.mixer = mixer
    self.configJSON = configJSON
    self.params = params
  }
}

/// The registry as the ingester and trainer see it. ``Registry`` (SQLite) implements it;
/// ``InMemoryTracker`` lets tests run without a database.
public protocol ExperimentTracker: AnyObject {
  /// Records (or updates, by path) a token store.
  func recordDataset(_ dataset: DatasetRecord) throws
  /// The token store recorded at `path`, nil when there is none.
  func dataset(atPath path: String) throws -> DatasetRecord?
  /// Starts a new run; throws if a run with this name exists.
  func startRun(_ spec: RunSpec) throws -> any RunTracker
  /// Reopens an existing run (for `--resume`): sets it back to `running` with this process's pid,
  /// and drops the metric points a killed process logged past the checkpoint the run resumes from
  /// (those after `step`, and all of `redoneKeys`), since the resumed process logs them again.
  func resumeRun(named name: String, after step: Int, redoing redoneKeys: [String]) throws -> any RunTracker
}

/// One run's logging handle.
public protocol RunTracker: AnyObject {
  /// The run's name.
  var name: String { get }
  /// Buffers one point of `metric`; written in batches (cheap enough to call every step). The
  /// goal of a key's first point is the one its summary keeps.
  func logMetric(_ metric: Metric, step: Int, value: Double)
  /// Writes buffered metric points.
  func flush() throws
  /// Records a file produced by the run (its sha256 and size are computed).
  func logArtifact(kind: String, path: String) throws
  /// Flushes and sets the final status.
  func finish(_ status: RunStatus) throws
}

/// An ``ExperimentTracker`` that keeps everything in memory, for tests.
public final class InMemoryTracker: ExperimentTracker, @unchecked Sendable {
  /// One in-memory run.
  public final class Run: RunTracker, @unchecked Sendable {
    /// The run's spec.
    public let spec: RunSpec
    /// The run's name.
    public var name: String { spec.name }
    /// Logged metric points in order, flushed or not.
    public private(set) var metrics: [(key: String, step: Int, value: Double)] = []
    /// The goal each key was first logged with.
    public private(set) var goals: [String: MetricGoal] = [:]
    /// Logged artifacts.
    public private(set) var artifacts: [(kind: String, path: String)] = []
    /// Current status.
    public private(set) var status: RunStatus = .running

    init(spec: RunSpec) { self.spec = spec }

    /// Buffers one point.
    public func logMetric(_ metric: Metric, step: Int, value: Double) {
      metrics.append((metric.key, step, value))
      if goals[metric.key] == nil { goals[metric.key] = metric.goal }
    }
    /// Nothing to write.
    public func flush() throws {}
    /// Records the artifact.
    public func logArtifact(kind: String, path: String) throws { artifacts.append((kind, path)) }
    /// Sets the status.
    public func finish(_ status: RunStatus) throws { self.status = status }
    /// Values of `key`, in logging order.
    public func values(_ key: String) -> [Double] { metrics.filter { $0.key == key }.map(\.value) }
    fileprivate func reopen(after step: Int, redoing redoneKeys: [String]) {
      status = .running
      metrics.removeAll { $0.step > step || redoneKeys.contains($0.key) }
    }
  }

  /// Datasets recorded, by path.
  public private(set) var datasets: [String: DatasetRecord] = [:]
  /// Runs started, by name.
  public private(set) var runs: [String: Run] = [:]

  /// An empty tracker.
  public init() {}

  /// Records the dataset.
  public func recordDataset(_ dataset: DatasetRecord) throws { datasets[dataset.path] = dataset }

  /// The dataset recorded at `path`.
  public func dataset(atPath path: String) throws -> DatasetRecord? { datasets[path] }

  /// Starts a run; a duplicate name is an error, as in the registry.
  public func startRun(_ spec: RunSpec) throws -> any RunTracker {
    guard runs[spec.name] == nil else { throw TrackerError.duplicateRun(spec.name) }
    let run = Run(spec: spec)
    runs[spec.name] = run
    return run
  }

  /// Reopens a run.
  public func resumeRun(named name: String, after step: Int, redoing redoneKeys: [String]) throws -> any RunTracker {
    guard let run = runs[name] else { throw TrackerError.unknownRun(name) }
    run.reopen(after: step, redoing: redoneKeys)
    return run
  }
}

/// Errors shared by every tracker.
public enum TrackerError: Error, CustomStringConvertible, Equatable {
  /// A run with this name already exists.
  case duplicateRun(String)
  /// No run has this name.
  case unknownRun(String)
  /// A run with this name exists and is not the one being added.
  case conflictingRun(String, reason: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .duplicateRun(let name): "a run named '\(name)' already exists"
    case .unknownRun(let name): "no run named '\(name)' in the registry"
    case .conflictingRun(let name, let reason): "a run named '\(name)' already exists: \(reason)"
    }
  }
}
