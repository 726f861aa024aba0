import Foundation
import Testing
import ZooSupport
import ZooTracking

@testable import ZooRegistry

/// `Registry.merge(from:)`: per-task files into a main registry, by run uuid, idempotently.
@Suite struct RegistryMergeTests {
  /// Every row of the tables a merge writes, ids and times left in: a second merge must not move any.
  func dump(_ registry: Registry) throws -> [String] {
    var out: [String] = []
    for table in ["runs", "params", "metrics", "metric_summary", "artifacts", "datasets", "analyses"] {
      out += try registry.query("SELECT * FROM \(table) ORDER BY 1, 2").rows.map { table + ":" + $0.map(\.shellText).joined(separator: "|") }
    }
    return out
  }

  func taskFile(_ directory: URL, _ name: String) throws -> Registry {
    try Registry(path: directory.appendingPathComponent(name).path, journal: .delete)
  }

  @Test func mergeBringsRunsAndStoresOnceAndAgainChangesNothing() throws {
    let main = try Registry(path: try temporaryRegistryPath())
    let directory = URL(fileURLWithPath: main.path).deletingLastPathComponent()
    let file = directory.appendingPathComponent("losses.h5").path
    try Data("abc".utf8).write(to: URL(fileURLWithPath: file))
    let a = try taskFile(directory, "task-0.db")
    let run = try a.startRun(spec("p0", params: ["lr": "0.003"]))
    for step in 0..<3 { run.logMetric(Metric("eval/accuracy", goal: .max), step: step, value: Double(step) / 4) }
    try run.logArtifact(kind: "losses", path: file)
    try run.finish(.finished)
    let b = try taskFile(directory, "task-1.db")
    let other = try b.startRun(spec("p1"))
    other.logMetric(evalLoss, step: 0, value: 1)
    try other.finish(.finished)
    let store = DatasetRecord(
      path: directory.appendingPathComponent("00.h5").path, sha256: "aa", source: "00.jsonl.zst", sourceSHA256: "bb", documents: 2,
      tokens: 10, subsets: ["Github"], skipped: [:])
    try b.recordDataset(store)

    let first = try main.merge(from: a.path)
    #expect(first.runsAdded == ["p0"] && first.runsUnchanged == 0)
    let second = try main.merge(from: b.path)
    #expect(second.runsAdded == ["p1"] && second.datasetsAdded == 1)
    #expect(try main.params(ofRun: "p0").map(\.value) == ["0.003"])
    #expect(try main.metrics(ofRun: "p0").map(\.value) == [0, 0.25, 0.5])
    #expect(try main.summaries(ofRun: "p0") == a.summaries(ofRun: "p0"))
    #expect(try main.artifacts(ofRun: "p0") == a.artifacts(ofRun: "p0"))
    #expect(try main.run(named: "p0")?.uuid == a.run(named: "p0")?.uuid)
    #expect(try main.dataset(atPath: store.path) == store)

    let before = try dump(main)
    for source in [a.path, b.path] {
      let again = try main.merge(from: source)
      #expect(again.runsAdded.isEmpty && again.runsUpdated.isEmpty && again.runsUnchanged == 1)
      #expect(again.datasetsAdded == 0 && again.datasetsUpdated == 0)
    }
    #expect(try dump(main) == before)
  }

  /// A task killed mid-run is merged as `killed`; its rerun (same file, the unfinished run
  /// replaced: a new uuid) supersedes it; a resumed run (same uuid, later `last_seen`) replaces
  /// its copy; a finished run of that name from elsewhere is a conflict, left out.
  @Test func newerCopiesReplaceOlderOnesAndFinishedRunsConflict() throws {
    let main = try Registry(path: try temporaryRegistryPath())
    let directory = URL(fileURLWithPath: main.path).deletingLastPathComponent()
    let task = try taskFile(directory, "p.db")
    let attempt = try task.startRun(spec("p"))
    attempt.logMetric(evalLoss, step: 0, value: 9)
    try attempt.finish(.killed)
    #expect(try main.merge(from: task.path).runsAdded == ["p"])
    #expect(try main.runStatus(named: "p") == .killed)

    try task.deleteRun(named: "p")
    let rerun = try task.startRun(spec("p"))
    rerun.logMetric(evalLoss, step: 0, value: 1)
    try rerun.finish(.finished)
    #expect(try main.merge(from: task.path).runsUpdated == ["p"])
    #expect(try main.runStatus(named: "p") == .finished && main.metrics(ofRun: "p").map(\.value) == [1])
    #expect(try main.run(named: "p")?.uuid == task.run(named: "p")?.uuid)
    #expect(try main.runs().count == 1)

    let resumed = try task.resumeRun(named: "p")
    resumed.logMetric(evalLoss, step: 1, value: 0.5)
    try resumed.finish(.finished)
    #expect(try main.merge(from: task.path).runsUpdated == ["p"])
    #expect(try main.metrics(ofRun: "p").map(\.value) == [1, 0.5])

    let elsewhere = try taskFile(directory, "elsewhere.db")
    try elsewhere.startRun(spec("p")).finish(.finished)
    let report = try main.merge(from: elsewhere.path)
    #expect(report.conflicts == ["p"] && report.runsAdded.isEmpty)
    #expect(try main.metrics(ofRun: "p").map(\.value) == [1, 0.5])
  }

  @Test func unmergeableFilesAreErrorsNamingThem() throws {
    let main = try Registry(path: try temporaryRegistryPath())
    let missing = main.path + ".missing"
    #expect(throws: RegistryError.notMergeable(path: missing, reason: "no such file")) { try main.merge(from: missing) }
    #expect(throws: RegistryError.notMergeable(path: main.path, reason: "it is the registry being merged into")) {
      try main.merge(from: main.path)
    }
    let plain = main.path + ".other"
    try SQLiteDatabase(path: plain).execute("CREATE TABLE t (x)")
    #expect { try main.merge(from: plain) } throws: { error in
      (error as? RegistryError)?.description.hasPrefix(plain + ": cannot merge: not a Zoo registry") == true
    }
  }
}
