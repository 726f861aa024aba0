import Foundation
import Testing
import ZooRegistry
import ZooStorage
import ZooSupport

@Suite struct AddLossesCLITests {
  let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path

  /// Writes a loss file over the last 2,000 tokens of `store` in windows of 100, as zoo-score would.
  func writeLosses(_ path: String, store: String, model: String, level: Float) throws -> Double {
    let count = try TokenStore(path: store).tokenCount
    let range = (count - 2000)..<count
    let starts = stride(from: 0, to: range.count, by: 100).map { UInt64($0) }
    var losses = (0..<range.count).map { level + Float($0 % 7) * 0.25 }
    for s in starts { losses[Int(s)] = .nan }
    try LossFile.write(
      path: path, losses: losses, windowStarts: starts,
      metadata: LossFileMetadata(
        tokenStore: "01.h5", tokenStoreSHA256: try SHA256.hex(ofFile: store), rangeStart: range.lowerBound,
        rangeEnd: range.upperBound, seqLen: 100, run: URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent,
        modelJSON: "{\"class\":\"\(model)\",\"dtype\":\"float32\",\"id\":\"org/\(model)\",\"parameters\":123,\"revision\":null}"))
    let kept = losses.filter { !$0.isNaN }
    return kept.reduce(0.0) { $0 + Double($1) } / Double(kept.count)
  }

  /// Two loss files registered by name become finished 'scored' runs that zoo-analyze gap finds by
  /// name; re-adding the same file changes nothing, another file under a taken name is refused.
  @Test func scoredRunsAreRegisteredAndAnalyzedByName() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    let ingest = try Tool.run("zoo-ingest", ["--out", "tokens", "--db", db, sample + "/01.jsonl.zst"], in: scratch.path)
    #expect(ingest.status == 0, "stderr: \(ingest.stderr)")
    let store = scratch.path + "/tokens/01.h5"
    try FileManager.default.createDirectory(atPath: scratch.path + "/scores", withIntermediateDirectories: true)
    let pythiaMean = try writeLosses(scratch.path + "/scores/pythia.h5", store: store, model: "GPTNeoXForCausalLM", level: 3)
    _ = try writeLosses(scratch.path + "/scores/mamba.h5", store: store, model: "MambaForCausalLM", level: 3.5)

    let add = try Tool.run("zoo-runs", ["add-losses", "scores/pythia.h5", "--name", "pythia", "--db", db], in: scratch.path)
    #expect(add.status == 0, "stderr: \(add.stderr)")
    #expect(add.stdout.contains("registered 'pythia'"), "\(add.stdout)")
    let again = try Tool.run("zoo-runs", ["add-losses", "scores/pythia.h5", "--name", "pythia", "--db", db], in: scratch.path)
    #expect(again.status == 0, "stderr: \(again.stderr)")
    #expect(again.stdout.contains("nothing changed"), "\(again.stdout)")
    let taken = try Tool.run("zoo-runs", ["add-losses", "scores/mamba.h5", "--name", "pythia", "--db", db], in: scratch.path)
    #expect(taken.status == 1)
    #expect(taken.stderr.contains("a run named 'pythia' already exists") && taken.stderr.contains("mamba.h5"), "\(taken.stderr)")
    let notLosses = try Tool.run("zoo-runs", ["add-losses", "tokens/01.h5", "--name", "x", "--db", db], in: scratch.path)
    #expect(notLosses.status == 1)
    #expect(notLosses.stderr.contains("tokens/01.h5: not a zoo.losses.v1 file"), "\(notLosses.stderr)")
    let mamba = try Tool.run("zoo-runs", ["add-losses", "scores/mamba.h5", "--name", "mamba", "--db", db], in: scratch.path)
    #expect(mamba.status == 0, "stderr: \(mamba.stderr)")

    let registry = try Registry(path: db)
    let run = try registry.requireRun(named: "pythia")
    #expect(run.kind == "scored" && run.status == .finished && run.mixer == "GPTNeoXForCausalLM")
    let loss = try #require(try registry.summaries(ofRun: "pythia").first { $0.key == "eval/loss" }?.last)
    #expect(abs(loss - pythiaMean) < 1e-12)
    let params = Dictionary(uniqueKeysWithValues: try registry.params(ofRun: "pythia").map { ($0.key, $0.value) })
    #expect(params["id"] == "org/GPTNeoXForCausalLM" && params["parameters"] == "123" && params["seq_len"] == "100")
    let artifact = try #require(try registry.artifacts(ofRun: "pythia").first)
    #expect(artifact.kind == "losses" && artifact.path == scratch.path + "/scores/pythia.h5")
    #expect(artifact.sha256 == (try SHA256.hex(ofFile: artifact.path)))
    #expect(try registry.runs().map(\.name) == ["pythia", "mamba"])

    let gap = try Tool.run("zoo-analyze", ["gap", "--runs", "pythia,mamba", "--db", db, "--out", "analysis"], in: scratch.path)
    #expect(gap.status == 0, "stderr: \(gap.stderr)")
    #expect(gap.stdout.contains("pythia") && gap.stdout.contains("mamba"), "\(gap.stdout)")
    let csv = try String(contentsOfFile: scratch.path + "/analysis/gap.csv", encoding: .utf8)
    #expect(csv.contains("mamba") && csv.contains("pythia"))
  }
}
