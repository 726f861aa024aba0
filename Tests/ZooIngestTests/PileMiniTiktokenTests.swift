import Foundation
import Testing
import ZooStorage
import ZooSupport

@testable import ZooIngest

/// `../shared/data/pile-mini`, beside the repository, when present.
let pileMini = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().appendingPathComponent("shared/data/pile-mini")

/// The tokenizer fixtures made by `Tests/ZooTokenizerTests/Fixtures/make_reference.py`.
let tokenizerFixtures = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("ZooTokenizerTests/Fixtures")

struct PileMiniReference: Decodable {
  struct Shard: Decodable {
    let file: String
    let sha256: String
    let token_counts: [Int]
    let subsets: [String]
  }
  let ids_sha256: String
  let shards: [Shard]
}

/// Ingests every pile-mini document and compares the stores id for id with tiktoken's `gpt2`
/// `encode_ordinary` (the committed fixture), plus an EOT after each document and the subsets.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: pileMini.path), "needs ../shared/data/pile-mini"))
struct PileMiniTiktokenTests {
  @Test func storesEqualTiktokenOnEveryDocument() throws {
    let reference = try JSONDecoder().decode(
      PileMiniReference.self, from: Data(contentsOf: tokenizerFixtures.appendingPathComponent("pile-mini.json")))
    // All reference ids, shard 00 then 01, uint16 little-endian, zstd-compressed.
    var referenceBytes: [UInt8] = []
    let reader = try ZstdFileReader(path: tokenizerFixtures.appendingPathComponent("pile-mini.ids.zst").path)
    try reader.forEachBlock { referenceBytes += $0 }
    #expect(SHA256.hex(of: referenceBytes) == reference.ids_sha256)
    let referenceIDs = referenceBytes.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }

    let dir = try TemporaryDirectory()
    var ingester = ShardIngester(tokenizer: sharedTokenizer, outputDirectory: dir.path, threads: 2, tracker: nil)
    ingester.progressOnTerminal = nil
    var cursor = 0
    for shard in reference.shards {
      let path = pileMini.appendingPathComponent(shard.file).path
      #expect(try SHA256.hex(ofFile: path) == shard.sha256, "pile-mini changed; rerun make_reference.py")
      let result = ingester.ingest(shard: path)
      guard case .written = result.status else {
        Issue.record("\(shard.file): \(result.status)")
        continue
      }
      let store = try TokenStore(path: dir.path + "/" + shard.file.replacingOccurrences(of: ".jsonl.zst", with: ".h5"))
      #expect(store.documentCount == shard.token_counts.count)
      #expect(store.tokenCount == shard.token_counts.reduce(0, +) + shard.token_counts.count)
      let tokens = try store.readTokens(0..<store.tokenCount)
      let offsets = try store.documentOffsets()
      let subsetIndex = try store.documentSubsets()
      var mismatches = 0
      for (d, count) in shard.token_counts.enumerated() {
        let start = Int(offsets[d])
        #expect(Int(offsets[d + 1]) - start == count + 1)
        let expected = referenceIDs[cursor..<(cursor + count)]
        if !tokens[start..<(start + count)].elementsEqual(expected) { mismatches += 1 }
        #expect(tokens[start + count] == 50256)
        #expect(store.metadata.subsets[Int(subsetIndex[d])] == shard.subsets[d])
        cursor += count
      }
      #expect(mismatches == 0, "\(shard.file): \(mismatches) documents differ from tiktoken")
    }
    #expect(cursor == referenceIDs.count)
  }
}
