import Foundation
import Testing
import ZooRegistry

/// `zoo-train export`: a well-formed safetensors file holding exactly the checkpoint's weights,
/// the config, and one-line errors. (`python/tests/test_export.py` loads exports in PyTorch and
/// reproduces the runs' losses.)
@Suite struct ExportCLITests {
  /// Ingests the bundled sample and trains a tiny two-layer run `name` in `scratch`.
  func trainTinyRun(_ name: String, mixer: String, in scratch: Scratch) throws {
    let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path
    if !FileManager.default.fileExists(atPath: scratch.path + "/tokens/01.h5") {
      let ingest = try Tool.run("zoo-ingest", ["--out", "tokens", sample + "/00.jsonl.zst", sample + "/01.jsonl.zst"], in: scratch.path)
      try #require(ingest.status == 0, "\(ingest.stderr)")
    }
    let train = try Tool.run(
      "zoo-train",
      ["lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", mixer, "--d-model", "16", "--layers", "2", "--seq-len", "16",
       "--batch", "2", "--steps", "3", "--eval-tokens", "256", "--name", name, "--db", "zoo.db", "--plain"],
      in: scratch.path)
    try #require(train.status == 0, "\(train.stderr)")
  }

  /// A little-endian UInt64 at `offset`.
  func uint64(_ data: Data, at offset: Int) -> Int {
    Int(data.subdata(in: offset..<(offset + 8)).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
  }

  @Test func safetensorsHoldTheCheckpointWeights() throws {
    let scratch = try Scratch()
    try trainTinyRun("tiny", mixer: "base_conv,attention", in: scratch)
    let export = try Tool.run("zoo-train", ["export", "tiny", "--out", "out/tiny", "--db", "zoo.db"], in: scratch.path)
    try #require(export.status == 0, "\(export.stderr)")
    #expect(export.stdout.contains("exported tiny (step 3"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/out") == ["tiny"])  // no temporary left

    // The format: header length, JSON header padded to 8 bytes, contiguous F32 tensors to the end.
    let file = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/out/tiny/model.safetensors"))
    let headerLength = uint64(file, at: 0)
    #expect(headerLength % 8 == 0)
    let header = try #require(try JSONSerialization.jsonObject(with: file.subdata(in: 8..<(8 + headerLength))) as? [String: Any])
    #expect(header["__metadata__"] as? [String: String] == ["format": "pt", "zoo_run": "tiny"])
    var spans: [(name: String, begin: Int, end: Int)] = []
    for (name, value) in header where name != "__metadata__" {
      let entry = try #require(value as? [String: Any], "\(name)")
      let shape = try #require(entry["shape"] as? [Int]), offsets = try #require(entry["data_offsets"] as? [Int])
      #expect(entry["dtype"] as? String == "F32", "\(name)")
      #expect(offsets.count == 2 && offsets[1] - offsets[0] == 4 * shape.reduce(1, *), "\(name)")
      spans.append((name, offsets[0], offsets[1]))
    }
    spans.sort { $0.begin < $1.begin }
    #expect(spans.first?.begin == 0)
    for (a, b) in zip(spans, spans.dropFirst()) { #expect(a.end == b.begin, "\(a.name) → \(b.name)") }
    #expect(8 + headerLength + (spans.last?.end ?? 0) == file.count)

    // The values: the checkpoint's parameters, bit for bit, under the same names.
    let checkpoint = try Data(contentsOf: URL(fileURLWithPath: scratch.path + "/runs/tiny/checkpoint.bin"))
    let checkpointHeaderLength = uint64(checkpoint, at: 8)
    let checkpointHeader = try #require(
      try JSONSerialization.jsonObject(with: checkpoint.subdata(in: 16..<(16 + checkpointHeaderLength))) as? [String: Any])
    let names = try #require(checkpointHeader["parameters"] as? [String])
    let counts = try #require(checkpointHeader["counts"] as? [Int])
    #expect(Set(names) == Set(spans.map(\.name)))
    #expect(names.contains("backbone.layers.0.sequence_mixer.conv.conv.weight") && !names.contains("lm_head.weight"))
    var offset = 16 + checkpointHeaderLength
    let data = file.subdata(in: (8 + headerLength)..<file.count)
    for (name, count) in zip(names, counts) {
      let span = try #require(spans.first { $0.name == name })
      #expect(data.subdata(in: span.begin..<span.end) == checkpoint.subdata(in: offset..<(offset + 4 * count)), "\(name)")
      offset += 4 * count
    }

    let config = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path + "/out/tiny/config.json"))) as? [String: Any])
    #expect(config["format"] as? String == "zoo.export.v2")
    #expect(config["run"] as? String == "tiny" && config["step"] as? Int == 3 && config["tokenizer"] as? String == "gpt2")
    #expect(config["mixers"] as? [String] == ["base_conv", "attention"])
    let model = try #require(config["model"] as? [String: Any])
    #expect(model["d_model"] as? Int == 16 && model["vocab_size"] as? Int == 50257 && model["max_position_embeddings"] as? Int == 16)
    #expect(config["parameters"] as? Int == counts.reduce(0, +))
  }

  /// A killed run has a checkpoint file but no checkpoint artifact: it is found under --runs-dir.
  @Test func runWithoutCheckpointArtifactIsFoundInRunsDirectory() throws {
    let scratch = try Scratch()
    try trainTinyRun("tiny", mixer: "rwkv", in: scratch)
    try Registry(path: scratch.path + "/zoo.db").database.execute("DELETE FROM artifacts WHERE kind = 'checkpoint'")
    try FileManager.default.moveItem(atPath: scratch.path + "/runs", toPath: scratch.path + "/elsewhere")
    let lost = try Tool.run("zoo-train", ["export", "tiny", "--out", "out", "--db", "zoo.db"], in: scratch.path)
    #expect(lost.status == 1 && lost.stderr.contains("runs/tiny/checkpoint.bin"), "\(lost.stderr)")
    let found = try Tool.run("zoo-train", ["export", "tiny", "--out", "out", "--db", "zoo.db", "--runs-dir", "elsewhere"], in: scratch.path)
    #expect(found.status == 0, "\(found.stderr)")
    #expect(FileManager.default.fileExists(atPath: scratch.path + "/out/model.safetensors"))
  }

  @Test func unknownRunsMissingCheckpointsAndUsedDirectoriesAreClearErrors() throws {
    let scratch = try Scratch()
    let ghost = try Tool.run("zoo-train", ["export", "ghost", "--out", "out", "--db", "zoo.db"], in: scratch.path)
    #expect(ghost.status == 1 && ghost.stderr.contains("no run named 'ghost'"), "\(ghost.stderr)")

    try trainTinyRun("tiny", mixer: "attention", in: scratch)
    try FileManager.default.createDirectory(atPath: scratch.path + "/used", withIntermediateDirectories: true)
    try Data("x".utf8).write(to: URL(fileURLWithPath: scratch.path + "/used/keep.txt"))
    let used = try Tool.run("zoo-train", ["export", "tiny", "--out", "used", "--db", "zoo.db"], in: scratch.path)
    #expect(used.status == 1 && used.stderr.contains("already exists and is not an empty directory"), "\(used.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/used") == ["keep.txt"])

    try FileManager.default.removeItem(atPath: scratch.path + "/runs/tiny/checkpoint.bin")
    let gone = try Tool.run("zoo-train", ["export", "tiny", "--out", "out", "--db", "zoo.db"], in: scratch.path)
    #expect(gone.status == 1 && gone.stderr.contains("run 'tiny' (kind lm) has no checkpoint at"), "\(gone.stderr)")
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/out"))
    #expect(gone.stderr.split(separator: "\n").count == 1)
  }
}
