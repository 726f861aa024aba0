import Foundation
import Testing
import ZooSupport

@testable import ZooStorage

private func pythonHasH5py() -> Bool {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", "import h5py"]
  process.standardError = FileHandle.nullDevice
  guard (try? process.run()) != nil else { return false }
  process.waitUntilExit()
  return process.terminationStatus == 0
}

/// h5py (what researchers use) reads what Zoo writes, with the contract's dtypes and attributes.
@Suite(.enabled(if: pythonHasH5py(), "python3 with h5py is not available; skipping the h5py interop check"))
struct H5pyInteropTests {
  @Test func h5pyReadsStoresAndLossFiles() throws {
    let dir = try TempDir()
    let gpt2 = TokenVocabulary(tokenizer: "gpt2", tokenizerSHA256: "cafe", vocabularySize: 50257, endOfText: 50256)
    let writer = try TokenStoreWriter(path: dir.path + "/s.h5", vocabulary: gpt2)
    try [UInt32]([464, 2068, 7586]).withUnsafeBufferPointer { try writer.appendDocument($0, subset: "Github") }
    try [UInt32]([13]).withUnsafeBufferPointer { try writer.appendDocument($0, subset: "Gutenberg (PG-19)") }
    try writer.commit(source: "00.jsonl.zst", sourceSHA256: "ab12", skippedLines: 1)
    let wide = try TokenStoreWriter(path: dir.path + "/w.h5", vocabulary: thirtyTwoBit)
    try [UInt32]([70_000, 3]).withUnsafeBufferPointer { try wide.appendDocument($0, subset: "S") }
    try wide.commit(source: "w", sourceSHA256: "w", skippedLines: 0)
    try LossFile.write(
      path: dir.path + "/l.h5", losses: [.nan, 2.5, .nan, 0.25], windowStarts: [0, 2],
      metadata: LossFileMetadata(
        tokenStore: "s.h5", tokenStoreSHA256: "cd34", rangeStart: 2, rangeEnd: 6, seqLen: 2, run: "attn", modelJSON: "{\"d\":1}"))
    let script = """
      import h5py, math, sys
      with h5py.File(sys.argv[1] + "/s.h5", "r") as f:
          assert f["tokens"].dtype == "uint16" and list(f["tokens"][:]) == [464, 2068, 7586, 50256, 13, 50256]
          assert f["doc_offsets"].dtype == "uint64" and list(f["doc_offsets"][:]) == [0, 4, 6]
          assert f["doc_subset"].dtype == "uint8" and list(f["doc_subset"][:]) == [0, 1]
          a = f.attrs
          assert a["format"] == "zoo.tokens.v1" and a["tokenizer"] == "gpt2", dict(a)
          assert a["vocab_size"] == 50257 and a["eot"] == 50256 and a["documents"] == 2 and a["tokens"] == 6
          assert a["tokenizer_sha256"] == "cafe"
          assert list(a["subsets"]) == ["Github", "Gutenberg (PG-19)"], a["subsets"]
          assert a["source"] == "00.jsonl.zst" and a["source_sha256"] == "ab12" and a["skipped_lines"] == 1
          assert isinstance(a["created_at"], str) and isinstance(a["zoo_version"], str)
      with h5py.File(sys.argv[1] + "/w.h5", "r") as f:
          assert f["tokens"].dtype == "uint32" and list(f["tokens"][:]) == [70000, 3, 0], f["tokens"][:]
          assert f.attrs["vocab_size"] == 200000 and f.attrs["eot"] == 0 and f.attrs["tokenizer"] == "test32"
      # A store as zoo-ingest wrote them before tokenizer_sha256 existed.
      with h5py.File(sys.argv[1] + "/legacy.h5", "w") as f:
          f["tokens"] = __import__("numpy").array([464, 50256], dtype="uint16")
          f["doc_offsets"] = __import__("numpy").array([0, 2], dtype="uint64")
          f["doc_subset"] = __import__("numpy").array([0], dtype="uint8")
          for k, v in dict(format="zoo.tokens.v1", tokenizer="gpt2", vocab_size=50257, eot=50256, source="00.jsonl.zst",
                           source_sha256="ab", documents=1, tokens=2, skipped_lines=0, created_at="2026-11-01T00:00:00Z",
                           zoo_version="0.1.0").items():
              f.attrs[k] = v
          f.attrs["subsets"] = ["Github"]
      with h5py.File(sys.argv[1] + "/l.h5", "r") as f:
          loss = f["loss"][:]
          assert f["loss"].dtype == "float32" and len(loss) == 4
          assert math.isnan(loss[0]) and loss[1] == 2.5 and math.isnan(loss[2]) and loss[3] == 0.25
          assert f["window_starts"].dtype == "uint64" and list(f["window_starts"][:]) == [0, 2]
          a = f.attrs
          assert a["format"] == "zoo.losses.v1" and a["token_store"] == "s.h5" and a["token_store_sha256"] == "cd34"
          assert a["range_start"] == 2 and a["range_end"] == 6 and a["seq_len"] == 2 and a["run"] == "attn"
          assert a["model"] == '{"d":1}'
      print("ok")
      """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script, dir.path]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    #expect(process.terminationStatus == 0 && output.contains("ok"), "\(output)")
    let legacy = try TokenStore(path: dir.path + "/legacy.h5")
    #expect(legacy.vocabulary == TokenVocabulary(tokenizer: "gpt2", tokenizerSHA256: "", vocabularySize: 50257, endOfText: 50256))
    #expect(try legacy.readTokens(0..<2) == [464, 50256])
  }
}
