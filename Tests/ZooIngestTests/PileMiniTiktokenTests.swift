import Foundation
import Testing
import ZooStorage
import ZooSupport
import ZooTokenizer

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
    let subsets: [String]?
  }
  let ids_sha256: String
  let shards: [Shard]
}

/// Ingests every pile-mini document and compares the stores id for id with the reference
/// tokenizer (committed fixtures): tiktoken's `gpt2` `encode_ordinary` (uint16 ids, made by
/// `make_reference.py`) and Hugging Face `tokenizers` with GPT-NeoX-20B (uint32 ids, made by
/// `make_hf_reference.py`), plus the tokenizer's EOT after each document and the subsets.
@Suite(.enabled(if: FileManager.default.fileExists(atPath: pileMini.path), "needs ../shared/data/pile-mini"))
struct PileMiniTiktokenTests {
  @Test func storesEqualTiktokenOnEveryDocument() throws {
    try checkStores(tokenizer: sharedTokenizer, fixtures: tokenizerFixtures, idBytes: 2)
  }

  @Test func gptNeoXStoresEqualTokenizersOnEveryDocument() throws {
    try checkStores(tokenizer: try Tokenizers.load("gpt-neox-20b"), fixtures: tokenizerFixtures.appendingPathComponent("neox"), idBytes: 4)
  }

  private func checkStores(tokenizer: any Tokenizer, fixtures: URL, idBytes: Int) throws {
    let reference = try JSONDecoder().decode(
      PileMiniReference.self, from: Data(contentsOf: fixtures.appendingPathComponent("pile-mini.json")))
    // All reference ids, shard 00 then 01, little-endian, zstd-compressed.
    var referenceBytes: [UInt8] = []
    let reader = try ZstdFileReader(path: fixtures.appendingPathComponent("pile-mini.ids.zst").path)
    try reader.forEachBlock { referenceBytes += $0 }
    #expect(SHA256.hex(of: referenceBytes) == reference.ids_sha256)
    let referenceIDs: [UInt32] = referenceBytes.withUnsafeBytes {
      idBytes == 2 ? $0.bindMemory(to: UInt16.self).map(UInt32.init) : Array($0.bindMemory(to: UInt32.self))
    }

    let dir = try TemporaryDirectory()
    var ingester = ShardIngester(tokenizer: tokenizer, outputDirectory: dir.path, threads: 2, tracker: nil)
    ingester.progressOnTerminal = nil
    var cursor = 0
    for shard in reference.shards {
      let path = pileMini.appendingPathComponent(shard.file).path
      #expect(try SHA256.hex(ofFile: path) == shard.sha256, "pile-mini changed; rerun the fixture script")
      let result = ingester.ingest(shard: path)
      guard case .written = result.status else {
        Issue.record("\(shard.file): \(result.status)")
        continue
      }
      let store = try TokenStore(path: dir.path + "/" + shard.file.replacingOccurrences(of: ".jsonl.zst", with: ".h5"))
      #expect(store.vocabulary == tokenizer.vocabulary)
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
        #expect(tokens[start + count] == tokenizer.vocabulary.endOfText)
        if let subsets = shard.subsets { #expect(store.metadata.subsets[Int(subsetIndex[d])] == subsets[d]) }
        cursor += count
      }
      #expect(mismatches == 0, "\(shard.file): \(mismatches) documents differ from the reference tokenizer")
    }
    #expect(cursor == referenceIDs.count)
  }
}
