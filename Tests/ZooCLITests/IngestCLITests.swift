import Foundation
import Testing
import ZooStorage

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

  @Test func helpExplainsTheCommand() throws {
    let scratch = try Scratch()
    let out = try Tool.run("zoo-ingest", ["--help"], in: scratch.path)
    #expect(out.status == 0)
    for word in ["--out", "--threads", "--db", "zoo.tokens.v1", "source sha256"] {
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
