import Foundation
import Testing
import ZooRegistry
import ZooStorage
import ZooSupport

/// `kill -9` at several points of each writer (`zoo-ingest`, `zoo-train lm`, `zoo-analyze gap`),
/// then the rerun a user would do: every output equals an uninterrupted run's, no temporary file
/// is left and the registry is consistent. Kill points are fractions of the uninterrupted run's
/// time, so they fall inside the work on a fast or a loaded machine alike.
@Suite(.serialized) struct KillCLITests {
  static let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path
  static let shards = ["00", "01"].map { sample + "/\($0).jsonl.zst" }
  static let fractions = [0.15, 0.4, 0.65, 0.9]

  static func env(_ scratch: Scratch) -> [String: String] { ["ZOO_DB": scratch.path + "/zoo.db"] }

  @Test func ingestKilledAnywhereRerunsToTheSameStores() throws {
    let reference = try Scratch()
    let ingest = ["--out", "tokens", "--plain"] + Self.shards
    let (first, seconds) = try Tool.timed("zoo-ingest", ingest, in: reference.path, environment: Self.env(reference))
    try #require(first.status == 0, "\(first.stderr)")
    var killedRuns = 0
    for fraction in Self.fractions {
      let scratch = try Scratch()
      if try Tool.runKilled("zoo-ingest", ingest, in: scratch.path, environment: Self.env(scratch), after: seconds * fraction) {
        killedRuns += 1
      }
      let rerun = try Tool.run("zoo-ingest", ingest, in: scratch.path, environment: Self.env(scratch))
      #expect(rerun.status == 0, "killed at \(fraction): \(rerun.stderr)")
      try expectSameStores(scratch, reference, "killed at \(fraction)")
    }
    #expect(killedRuns > 0, "no kill landed while zoo-ingest ran")
  }

  /// The window between a store's rename and its registry row (here: written without a registry),
  /// and a dead writer's temporary beside a live one's.
  @Test func ingestRecordsAnUnrecordedStoreAndRemovesDeadTemporaries() throws {
    let reference = try Scratch()
    let ingest = ["--out", "tokens", "--plain"] + Self.shards
    try #require(try Tool.run("zoo-ingest", ingest, in: reference.path, environment: Self.env(reference)).status == 0)

    let scratch = try Scratch()
    let first = try Tool.run("zoo-ingest", ["--no-registry"] + ingest, in: scratch.path)
    try #require(first.status == 0, "\(first.stderr)")
    let start = try #require(ProcessIdentity.startTime(of: getpid()))
    let dead = ".01.h5.tmp-\(try deadPid())-\(start)-7"
    let live = ".01.h5.tmp-\(getpid())-\(start)-8"
    for name in [dead, live] {
      #expect(FileManager.default.createFile(atPath: scratch.path + "/tokens/" + name, contents: Data(count: 4096)))
    }
    let rerun = try Tool.run("zoo-ingest", ingest, in: scratch.path, environment: Self.env(scratch))
    #expect(rerun.status == 0, "\(rerun.stderr)")
    #expect(rerun.stdout.components(separatedBy: "up-to-date").count == 3, "\(rerun.stdout)")
    #expect(rerun.stderr.components(separatedBy: "was not in the registry; recorded it").count == 3, "\(rerun.stderr)")
    #expect(rerun.stderr.contains("removed \(scratch.path)/tokens/\(dead)"), "\(rerun.stderr)")
    let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/tokens").sorted()
    #expect(left == [live, "00.h5", "01.h5"].sorted(), "a live writer's temporary stays, the dead one's goes")
    unlink(scratch.path + "/tokens/" + live)
    try expectSameStores(scratch, reference, "recorded on the rerun")
    let again = try Tool.run("zoo-ingest", ingest, in: scratch.path, environment: Self.env(scratch))
    #expect(!again.stderr.contains("recorded it"), "recorded once: \(again.stderr)")
  }

  @Test func trainingKilledAnywhereResumesToTheSameWeights() throws {
    let reference = try Scratch()
    try ingest(reference)
    let train = [
      "lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", "base_conv,attention", "--kernel-size", "3",
      "--d-model", "16", "--layers", "2", "--seq-len", "32", "--batch", "4", "--steps", "24", "--checkpoint-every", "4",
      "--eval-tokens", "2048", "--threads", "1", "--name", "k", "--plain",
    ]
    let (first, seconds) = try Tool.timed("zoo-train", train, in: reference.path, environment: Self.env(reference))
    try #require(first.status == 0, "\(first.stderr)")
    let checkpoint = "runs/k/checkpoint.bin"
    let referenceCheckpoint = try Data(contentsOf: URL(fileURLWithPath: reference.path + "/" + checkpoint))
    var killedRuns = 0
    for fraction in Self.fractions {
      let scratch = try Scratch()
      try ingest(scratch)
      if try Tool.runKilled("zoo-train", train, in: scratch.path, environment: Self.env(scratch), after: seconds * fraction) {
        killedRuns += 1
        // The user's rerun: resume the run when the registry has it, else start it again.
        let known = try Registry(path: scratch.path + "/zoo.db").run(named: "k") != nil
        let rerun = try Tool.run("zoo-train", known ? ["lm", "--resume", "k", "--plain"] : train, in: scratch.path, environment: Self.env(scratch))
        #expect(rerun.status == 0, "killed at \(fraction): \(rerun.stderr)")
      }
      let label = "killed at \(fraction)"
      let weights = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/" + checkpoint))
      #expect(weights == referenceCheckpoint, "\(label): the final checkpoint differs")
      #expect(try lossFile(scratch.path + "/runs/k/losses.h5") == lossFile(reference.path + "/runs/k/losses.h5"), "\(label)")
      let registry = try Registry(path: scratch.path + "/zoo.db")
      #expect(try registry.runStatus(named: "k") == .finished, "\(label)")
      let evalLoss = try registry.summaries(ofRun: "k").first { $0.key == "eval/loss" }?.last
      let referenceLoss = try Registry(path: reference.path + "/zoo.db").summaries(ofRun: "k").first { $0.key == "eval/loss" }?.last
      #expect(evalLoss != nil && evalLoss == referenceLoss, "\(label)")
      #expect(try metricHistory(scratch) == metricHistory(reference), "\(label): metric history")
      try expectConsistent(scratch, label)
    }
    #expect(killedRuns > 0, "no kill landed while zoo-train ran")
  }

  @Test func gapKilledAnywhereRerunsToTheSameCSVs() throws {
    let scratch = try Scratch()
    try ingest(scratch)
    for mixer in ["attention", "base_conv"] {
      let train = try Tool.run(
        "zoo-train",
        [
          "lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", mixer, "--d-model", "16", "--layers", "1",
          "--seq-len", "32", "--batch", "4", "--steps", "10", "--eval-tokens", "4096", "--threads", "1", "--name", mixer,
          "--plain",
        ], in: scratch.path, environment: Self.env(scratch))
      try #require(train.status == 0, "\(train.stderr)")
    }
    let bigrams = try Tool.run(
      "zoo-analyze", ["bigrams", "--train", "tokens/00.h5", "tokens/01.h5", "--out", "bigrams/bigrams.bin"], in: scratch.path,
      environment: Self.env(scratch))
    try #require(bigrams.status == 0, "\(bigrams.stderr)")
    func gap(_ out: String) -> [String] { ["gap", "--runs", "attention,base_conv", "--bigrams", "bigrams/bigrams.bin", "--out", out] }
    let (first, seconds) = try Tool.timed("zoo-analyze", gap("reference"), in: scratch.path, environment: Self.env(scratch))
    try #require(first.status == 0, "\(first.stderr)")
    let expected = try files(in: scratch.path + "/reference")
    #expect(expected.keys.sorted() == ["ar_by_distance.csv", "ar_by_frequency.csv", "by_subset.csv", "gap.csv"])
    var killedRuns = 0
    for (i, fraction) in Self.fractions.enumerated() {
      let out = "out\(i)"
      if try Tool.runKilled("zoo-analyze", gap(out), in: scratch.path, environment: Self.env(scratch), after: seconds * fraction) {
        killedRuns += 1
      }
      let rerun = try Tool.run("zoo-analyze", gap(out), in: scratch.path, environment: Self.env(scratch))
      #expect(rerun.status == 0, "killed at \(fraction): \(rerun.stderr)")
      #expect(try files(in: scratch.path + "/" + out) == expected, "killed at \(fraction)")
    }
    #expect(killedRuns > 0, "no kill landed while zoo-analyze gap ran")
    try expectConsistent(scratch, "gap")
  }

  // MARK: Helpers

  func ingest(_ scratch: Scratch) throws {
    let out = try Tool.run("zoo-ingest", ["--out", "tokens", "--plain"] + Self.shards, in: scratch.path, environment: Self.env(scratch))
    try #require(out.status == 0, "\(out.stderr)")
  }

  /// The pid of a process that has exited and been reaped.
  func deadPid() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }

  /// Every dataset and attribute of a token store but `created_at`.
  struct StoreContents: Equatable {
    var metadata: TokenStoreMetadata
    var tokens: [UInt32]
    var offsets: [UInt64]
    var subsets: [UInt8]
  }

  func storeContents(_ path: String) throws -> StoreContents {
    let store = try TokenStore(path: path)
    var metadata = store.metadata
    metadata.createdAt = ""
    return StoreContents(
      metadata: metadata, tokens: try store.readTokens(0..<store.tokenCount), offsets: try store.documentOffsets(),
      subsets: try store.documentSubsets())
  }

  /// A loss file's losses, window starts and attributes but the token store's sha256 (each test
  /// directory ingests its own stores, whose `created_at` differs).
  func lossFile(_ path: String) throws -> [String] {
    let reader = try LossFileReader(path: path)
    var metadata = reader.metadata
    metadata.tokenStoreSHA256 = ""
    let losses = try reader.readLosses(0..<reader.count).map { String($0.bitPattern) }
    return ["\(metadata)", try reader.windowStarts().map(String.init).joined(separator: ","), losses.joined(separator: ",")]
  }

  /// Every metric point and summary of the run, timings left out (each point logged once).
  func metricHistory(_ scratch: Scratch) throws -> [String] {
    let registry = try Registry(path: scratch.path + "/zoo.db")
    let points = try registry.query(
      "SELECT key, step, value FROM metrics WHERE key != 'train/tokens_per_s' ORDER BY key, step, rowid"
    ).rows.map { $0.map(\.shellText).joined(separator: "|") }
    let summaries = try registry.query(
      "SELECT key, min, max, last, last_step, best, best_step, count FROM metric_summary WHERE key != 'train/tokens_per_s' ORDER BY key"
    ).rows.map { $0.map(\.shellText).joined(separator: "|") }
    let timings = try registry.query("SELECT count(*) FROM metrics WHERE key = 'train/tokens_per_s'").rows.map { $0[0].shellText }
    return points + summaries + timings
  }

  /// The registry's dataset rows without the columns that differ between two ingests.
  func datasetRows(_ scratch: Scratch) throws -> [String] {
    try Registry(path: scratch.path + "/zoo.db").query(
      "SELECT source, source_sha256, documents, tokens, subsets, skipped FROM datasets ORDER BY source"
    ).rows.map { $0.map(\.shellText).joined(separator: "|") }
  }

  func expectSameStores(_ scratch: Scratch, _ reference: Scratch, _ label: String) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/tokens").sorted()
    #expect(names == ["00.h5", "01.h5"], "\(label): \(names)")
    for name in ["00.h5", "01.h5"] {
      #expect(
        try storeContents(scratch.path + "/tokens/" + name) == storeContents(reference.path + "/tokens/" + name),
        "\(label): \(name)")
    }
    #expect(try datasetRows(scratch) == datasetRows(reference), "\(label)")
    try expectConsistent(scratch, label)
  }

  /// No temporary file anywhere under the scratch directory; `PRAGMA integrity_check` is ok; every
  /// store, losses file and checkpoint on disk is registered exactly once, with its file's sha256.
  func expectConsistent(_ scratch: Scratch, _ label: String) throws {
    let all = FileManager.default.enumerator(atPath: scratch.path)?.allObjects as? [String] ?? []
    let temporaries = all.filter { AtomicFile.temporaryWriter(ofFileNamed: URL(fileURLWithPath: $0).lastPathComponent) != nil }
    #expect(temporaries.isEmpty, "\(label): temporaries left: \(temporaries)")
    let registry = try Registry(path: scratch.path + "/zoo.db")
    #expect(try registry.query("PRAGMA integrity_check").rows.map { $0[0].shellText } == ["ok"], "\(label)")
    for relative in all where relative.hasSuffix(".h5") || (relative.hasPrefix("runs/") && relative.hasSuffix(".bin")) {
      let path = URL(fileURLWithPath: scratch.path + "/" + relative).standardizedFileURL.path
      let table = relative.hasPrefix("tokens/") ? "datasets" : "artifacts"
      let rows = try registry.query("SELECT sha256 FROM \(table) WHERE path = '\(path)'").rows
      #expect(rows.map { $0[0].shellText } == [try SHA256.hex(ofFile: path)], "\(label): \(relative) registered \(rows.count) times")
    }
  }

  /// Name → contents of the files in a directory.
  func files(in directory: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory) {
      out[name] = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name))
    }
    return out
  }
}
