import Foundation
import Testing
import ZooRegistry
import ZooStorage
import ZooSupport

@Suite struct IngestCLITests {
  let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path

  @Test func badShardsFailAloneAndGoodOnesAreWritten() throws {
    let scratch = try Scratch()
    let good = sample + "/00.jsonl.zst"
    let bytes = try Data(contentsOf: URL(fileURLWithPath: good))
    let truncated = scratch.path + "/truncated.jsonl.zst"
    try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: truncated))
    let plain = scratch.path + "/plain.jsonl.zst"
    try Data("{\"text\": \"not compressed\"}\n".utf8).write(to: URL(fileURLWithPath: plain))

    let out = try Tool.run(
      "zoo-ingest", ["--out", "tokens", "--threads", "2", truncated, good, plain], in: scratch.path,
      environment: ["ZOO_DB": scratch.path + "/zoo.db"])
    #expect(out.status == 1, "stderr: \(out.stderr)")
    #expect(out.stderr.contains("truncated.jsonl.zst: FAILED"))
    #expect(out.stderr.contains("plain.jsonl.zst: FAILED"))
    #expect(out.stderr.contains("2 of 3 shard(s) failed"))
    #expect(out.stdout.contains("written") && out.stdout.contains("FAILED"))
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/tokens")
    #expect(files == ["00.h5"], "only the good shard's store may exist: \(files)")
    let store = try TokenStore(path: scratch.path + "/tokens/00.h5")
    #expect(store.documentCount == 50)
    #expect(FileManager.default.fileExists(atPath: scratch.path + "/zoo.db"))

    let again = try Tool.run(
      "zoo-ingest", ["--out", "tokens", good], in: scratch.path, environment: ["ZOO_DB": scratch.path + "/zoo.db"])
    #expect(again.status == 0, "stderr: \(again.stderr)")
    #expect(again.stdout.contains("up-to-date"))
  }

  /// `--format megatron`: a bad dataset fails alone; the good ones are written and recorded, and
  /// documents without the tokenizer's end-of-text id are counted in a warning.
  @Test func megatronBadDatasetFailsAloneGoodOnesAreRecorded() throws {
    let scratch = try Scratch()
    let fixtures = Tool.packageRoot.appendingPathComponent("Tests/ZooIngestTests/Fixtures/megatron").path
    let db = scratch.path + "/zoo.db"
    let out = try Tool.run(
      "zoo-ingest",
      ["--format", "megatron", "--out", "tokens", fixtures + "/u16.bin", fixtures + "/bad-magic", fixtures + "/noeod.idx"],
      in: scratch.path, environment: ["ZOO_DB": db])
    #expect(out.status == 1, "stderr: \(out.stderr)")
    #expect(out.stderr.contains("bad-magic: FAILED: \(fixtures)/bad-magic.idx: not a Megatron indexed dataset index"), "\(out.stderr)")
    #expect(out.stderr.contains("1 of 3 dataset(s) failed"))
    #expect(out.stderr.contains("warning: noeod: 2 of 2 documents do not end with gpt2's end-of-text id 50256"), "\(out.stderr)")
    #expect(!out.stderr.contains("warning: u16"), "\(out.stderr)")
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/tokens").sorted()
    #expect(files == ["noeod.h5", "u16.h5"])
    let storePath = scratch.path + "/tokens/u16.h5"
    let store = try TokenStore(path: storePath)
    #expect(store.documentCount == 4 && store.tokenCount == 33)
    #expect(store.vocabulary.tokenizer == "gpt2" && store.vocabulary.endOfText == 50256)
    let registry = try Registry(path: db)
    let rows = try registry.query("SELECT path, source, documents, tokens, subsets FROM datasets ORDER BY source").rows
    #expect(rows.map { $0.map(\.shellText) } == [
      [URL(fileURLWithPath: scratch.path + "/tokens/noeod.h5").standardizedFileURL.path, "noeod", "2", "9", "[\"megatron\"]"],
      [URL(fileURLWithPath: storePath).standardizedFileURL.path, "u16", "4", "33", "[\"megatron\"]"],
    ])
    #expect(try registry.datasetPaths(sha256: try SHA256.hex(ofFile: storePath)).count == 1)
  }

  @Test func helpExplainsTheCommand() throws {
    let scratch = try Scratch()
    let out = try Tool.run("zoo-ingest", ["--help"], in: scratch.path)
    #expect(out.status == 0)
    for word in ["--out", "--threads", "--db", "zoo.tokens.v1", "source sha256", "--format", "megatron"] {
      #expect(out.stdout.contains(word), "help lacks \(word)")
    }
  }

  @Test func missingShardIsAClearError() throws {
    let scratch = try Scratch()
    let out = try Tool.run("zoo-ingest", ["--no-registry", "nope.jsonl.zst"], in: scratch.path)
    #expect(out.status != 0)
    #expect(out.stderr.contains("no such shard: nope.jsonl.zst"))
  }

  /// The README's Python snippet for reading a store runs as written.
  @Test(.enabled(if: Tool.pythonHas("h5py"), "python3 with h5py is not available; skipping the README h5py check"))
  func readmePythonSnippetReadsAStore() throws {
    let scratch = try Scratch()
    let ingest = try Tool.run("zoo-ingest", ["--no-registry", "--out", "tokens", sample + "/01.jsonl.zst"], in: scratch.path)
    #expect(ingest.status == 0, "stderr: \(ingest.stderr)")
    let readme = try String(contentsOf: Tool.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
    let marker = "<!-- tested: read-store.py -->"
    let start = try #require(readme.range(of: marker), "README lacks the tested h5py snippet")
    let rest = readme[start.upperBound...]
    let open = try #require(rest.range(of: "```python\n"))
    let close = try #require(rest[open.upperBound...].range(of: "```"))
    let script = String(rest[open.upperBound..<close.lowerBound])
    try script.write(toFile: scratch.path + "/read_store.py", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "read_store.py"]
    process.currentDirectoryURL = URL(fileURLWithPath: scratch.path)
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "\(output)")
    let store = try TokenStore(path: scratch.path + "/tokens/01.h5")
    #expect(output.contains("documents \(store.documentCount)"), "\(output)")
    #expect(output.contains("tokens \(store.tokenCount)"), "\(output)")
  }
}
