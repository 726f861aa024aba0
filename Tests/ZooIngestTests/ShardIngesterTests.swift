import Foundation
import Testing
import ZooStorage
import ZooSupport
import ZooTokenizer
import ZooTracking

@testable import ZooIngest

/// A temporary directory removed at the end of the test.
final class TemporaryDirectory {
  let path: String
  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-ingest-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }

  /// Writes `bytes` to `name` and returns its path.
  func file(_ name: String, _ bytes: [UInt8]) throws -> String {
    let p = path + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
  }

  /// A shard made of `lines` (joined with `\n`), zstd-compressed in `frames` frames.
  func shard(_ name: String, lines: [[UInt8]], frames: Int = 1) throws -> String {
    var all: [UInt8] = []
    for line in lines { all += line + [0x0A] }
    var compressed: [UInt8] = []
    let step = max(1, (all.count + frames - 1) / frames)
    var i = 0
    repeat {
      let j = min(all.count, i + step)
      compressed += Zstd.compress(Array(all[i..<j]))
      i = j
    } while i < all.count
    return try file(name, compressed)
  }

  var entries: [String] { (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] }
}

func jsonLine(_ text: String, subset: String = "Github") -> [UInt8] {
  let data = try! JSONSerialization.data(withJSONObject: ["text": text, "meta": ["pile_set_name": subset]])
  return Array(data)
}

let sharedTokenizer = try! GPT2Tokenizer.bundled()

@Suite struct ShardIngesterTests {
  func ingester(_ dir: TemporaryDirectory, threads: Int = 2, tracker: (any ExperimentTracker)? = nil) -> ShardIngester {
    var ingester = ShardIngester(tokenizer: sharedTokenizer, outputDirectory: dir.path + "/out", threads: threads, tracker: tracker)
    ingester.progressOnTerminal = nil
    ingester.batchBytes = 64  // several batches even for small test shards
    return ingester
  }

  @Test func writesOneStorePerShardWithEOTAfterEveryDocument() throws {
    let dir = try TemporaryDirectory()
    let texts = ["Hello world", "second document\nwith two lines", "Καλημέρα κόσμε 😀"]
    let subsets = ["Github", "Pile-CC", "Github"]
    let shard = try dir.shard("00.jsonl.zst", lines: zip(texts, subsets).map { jsonLine($0, subset: $1) }, frames: 2)
    let tracker = InMemoryTracker()
    let result = ingester(dir, tracker: tracker).ingest(shard: shard)
    #expect(result.status == .written)
    #expect(result.output == dir.path + "/out/00.h5")
    let store = try TokenStore(path: result.output)
    var expected: [UInt32] = []
    var offsets: [UInt64] = [0]
    for text in texts {
      expected += sharedTokenizer.encodeOrdinary(text) + [50256]
      offsets.append(UInt64(expected.count))
    }
    #expect(try store.readTokens(0..<store.tokenCount) == expected)
    #expect(try store.documentOffsets() == offsets)
    #expect(store.metadata.subsets == ["Github", "Pile-CC"])
    #expect(try store.documentSubsets() == [0, 1, 0])
    #expect(store.metadata.source == "00.jsonl.zst")
    #expect(store.metadata.sourceSHA256 == (try SHA256.hex(ofFile: shard)))
    #expect(store.metadata.documents == 3 && store.metadata.tokens == expected.count)
    let recorded = try #require(tracker.datasets[result.output])
    #expect(recorded.tokens == expected.count && recorded.documents == 3)
    #expect(dir.entries.sorted() == ["00.jsonl.zst", "out"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out") == ["00.h5"])
  }

  @Test func badLinesAreSkippedAndCountedByReason() throws {
    let dir = try TemporaryDirectory()
    let lines: [[UInt8]] = [
      jsonLine("good one"),
      Array(#"{"text": "unterminated"#.utf8),
      Array(#"{"meta": {"pile_set_name": "Github"}}"#.utf8),
      Array(#"{"text": "bad "#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),
      Array(#"{"text": ""}"#.utf8),
      [],
      jsonLine("good two", subset: "Docs"),
    ]
    let tracker = InMemoryTracker()
    let result = ingester(dir, tracker: tracker).ingest(shard: try dir.shard("s.jsonl.zst", lines: lines))
    #expect(result.status == .written)
    #expect(result.documents == 2)
    #expect(result.skipped == [.malformedJSON: 1, .missingText: 1, .invalidUTF8: 1, .emptyText: 1, .blankLine: 1])
    let store = try TokenStore(path: result.output)
    #expect(store.metadata.skippedLines == 5)
    #expect(store.documentCount == 2)
    #expect(tracker.datasets[result.output]?.skipped["invalid_utf8"] == 1)
  }

  @Test(arguments: ["truncated", "not zstd", "empty file", "corrupt"])
  func corruptShardFailsWithoutOutput(kind: String) throws {
    let dir = try TemporaryDirectory()
    let good = try dir.shard("good.jsonl.zst", lines: (0..<200).map { jsonLine("document number \($0) " + String(repeating: "x", count: $0)) })
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
    switch kind {
    case "truncated": bytes.removeLast(bytes.count / 3)
    case "not zstd": bytes = Array("{\"text\": \"plain json, not compressed\"}\n".utf8)
    case "empty file": bytes = []
    default: bytes[bytes.count / 2] ^= 0xFF
    }
    let bad = try dir.file("bad.jsonl.zst", bytes)
    let result = ingester(dir).ingest(shard: bad)
    guard case .failed(let reason) = result.status else {
      Issue.record("\(kind): expected failure, got \(result.status)")
      return
    }
    #expect(reason.contains("bad.jsonl.zst"), "\(kind): \(reason)")
    let outputs = (try? FileManager.default.contentsOfDirectory(atPath: dir.path + "/out")) ?? []
    #expect(outputs.isEmpty, "\(kind): left \(outputs)")
  }

  @Test func rerunSkipsCompletedShardsAndRedoesChangedOnes() throws {
    let dir = try TemporaryDirectory()
    let shard = try dir.shard("a.jsonl.zst", lines: [jsonLine("one"), jsonLine("two")])
    let first = ingester(dir).ingest(shard: shard)
    #expect(first.status == .written)
    let second = ingester(dir).ingest(shard: shard)
    #expect(second.status == .upToDate)
    #expect(second.tokens == first.tokens)
    _ = try dir.shard("a.jsonl.zst", lines: [jsonLine("one"), jsonLine("two"), jsonLine("three")])
    let third = ingester(dir).ingest(shard: shard)
    #expect(third.status == .written)
    #expect(try TokenStore(path: third.output).documentCount == 3)
  }

  @Test func sameStoreForOneAndTwoThreads() throws {
    let dir = try TemporaryDirectory()
    var state: UInt64 = 3
    let words = ["the", " quick", "\n\n", "  ", "東京", "42", "'s", "😀", "e\u{301}", "x"]
    let lines = (0..<60).map { i -> [UInt8] in
      var text = ""
      for _ in 0..<(i * 7 % 50 + 1) {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        text += words[Int(state >> 33) % words.count]
      }
      return jsonLine(text, subset: "S\(i % 3)")
    }
    let shard = try dir.shard("t.jsonl.zst", lines: lines)
    var one = ingester(dir, threads: 1)
    one.outputDirectory = dir.path + "/one"
    var two = ingester(dir, threads: 2)
    two.outputDirectory = dir.path + "/two"
    let a = try TokenStore(path: one.ingest(shard: shard).output)
    let b = try TokenStore(path: two.ingest(shard: shard).output)
    #expect(try a.readTokens(0..<a.tokenCount) == b.readTokens(0..<b.tokenCount))
    #expect(try a.documentOffsets() == b.documentOffsets())
    #expect(try a.documentSubsets() == b.documentSubsets())
  }
}
