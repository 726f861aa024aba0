import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport

extension ZooRunsCommand {
  struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Merge registry files (e.g. each Slurm task's own) into the registry, by run uuid; merging again changes nothing.",
      discussion: """
        Each FILE is read, never written (a directory stands for the .db files in it, as \
        zoo.db.tasks/ that 'zoo-train sweep --launcher slurm' and 'zoo-ingest --launcher slurm' \
        fill), and must have this Zoo's schema. Runs are matched by uuid \
        and come with their params, metric history, summaries and artifacts; a copy replaces the \
        one in the registry only when its last_seen is later (a run resumed or rerun since). An \
        unfinished run is superseded by a newer run of the same name (a task's rerun); a finished \
        run of the same name with another uuid is a conflict: it is left out and reported, exit \
        status 1. Token stores are matched by path, analyses by their whole record. Creates the \
        registry if there is none.
        """)
    @Option(name: .long, help: "Registry to merge into (default: $ZOO_DB or ./zoo.db).") var db: String?
    @Argument(help: "Registry files (or directories of them) to merge.") var files: [String]

    func run() throws {
      try reportingErrors {
        let registry = try Registry(path: Registry.resolvePath(db))
        var conflicts: [String] = []
        for file in files.flatMap(Self.registryFiles) {
          let report = try registry.merge(from: file)
          conflicts += report.conflicts.map { "\(file): \($0)" }
          print(
            "\(file): runs \(report.runsAdded.count) added, \(report.runsUpdated.count) updated, \(report.runsUnchanged) unchanged; "
              + "stores \(report.datasetsAdded) added, \(report.datasetsUpdated) updated, \(report.datasetsUnchanged) unchanged"
              + (report.analysesAdded > 0 ? "; analyses \(report.analysesAdded) added" : ""))
        }
        if !conflicts.isEmpty {
          writeStandardError(
            "zoo-runs: finished runs of these names with another uuid are in \(registry.path); left out: \(conflicts.joined(separator: ", "))\n")
          throw ExitCode(1)
        }
      }
    }

    /// `argument`, or the `.db` files in it when it is a directory, sorted.
    static func registryFiles(_ argument: String) -> [String] {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue else { return [argument] }
      let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
      return names.filter { $0.hasSuffix(".db") }.sorted().map { URL(fileURLWithPath: argument).appendingPathComponent($0).path }
    }
  }
}
