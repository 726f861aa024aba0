import Foundation

/// The registry files that the tasks of a cluster job write beside a registry, one a task:
/// `<registry>.tasks/<task>.db`, each in `DELETE` journal mode with one writer, merged into the
/// registry by ``Registry/merge(from:)``.
public struct TaskRegistries: Sendable, Equatable {
  /// The directory holding them.
  public let directory: String

  /// The task registries of the registry at `registryPath` (made absolute, as tasks start elsewhere).
  public init(registryPath: String) {
    directory = URL(fileURLWithPath: registryPath).standardizedFileURL.path + ".tasks"
  }

  /// The registry file of the task `name` (a run name, a store name).
  public func path(forTask name: String) -> String { directory + "/" + name + ".db" }

  /// The registry files there now, sorted by name.
  public func files() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    return names.filter { $0.hasSuffix(".db") }.sorted().map { directory + "/" + $0 }
  }

  /// The registry of task `name`, opened in `DELETE` journal mode; nil when it has not been written.
  public func open(task name: String) throws -> Registry? {
    FileManager.default.fileExists(atPath: path(forTask: name)) ? try Registry(path: path(forTask: name), journal: .delete) : nil
  }
}
