import Foundation
import Testing
import ZooSupport

@testable import ZooIngest

/// `Fixtures/megatron`, written by `Fixtures/make_megatron.py` (numpy, not Zoo's code).
let megatronFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures/megatron").path

/// `expected.json`: each good prefix's document ids, each bad prefix's culprit file.
struct MegatronExpected: Decodable {
  struct Good: Decodable {
    var documents: [[UInt32]]
  }
  var good: [String: Good]
  var bad: [String: String]

  static let fixtures: MegatronExpected = try! JSONDecoder().decode(
    MegatronExpected.self, from: Data(contentsOf: URL(fileURLWithPath: megatronFixtures + "/expected.json")))
}

/// `mcore.json`, from `Fixtures/make_megatron_core.py`: datasets that Megatron-LM's own
/// `IndexedDatasetBuilder` wrote, and each one's document ids.
struct MegatronCoreExpected: Decodable {
  var documents: [String: [[UInt32]]]

  static let fixtures: MegatronCoreExpected = try! JSONDecoder().decode(
    MegatronCoreExpected.self, from: Data(contentsOf: URL(fileURLWithPath: megatronFixtures + "/mcore.json")))
}

/// Each good fixture's document ids, whichever writer made it.
func megatronDocuments(_ name: String) -> [[UInt32]]? {
  MegatronExpected.fixtures.good[name]?.documents ?? MegatronCoreExpected.fixtures.documents[name]
}

/// Every good fixture: the numpy writer's and Megatron-LM's.
let megatronGoodFixtures = ["u16", "i32", "noeod", "mcore-u16", "mcore-i32"]

/// What the one-line error of each bad fixture says (after the file name).
let megatronDefects: [String: String] = [
  "bad-magic": "not a Megatron indexed dataset index",
  "bad-version": "MMIDIDX version 2",
  "bad-float-dtype": "dtype code 7 (float32) does not hold token ids",
  "bad-unknown-dtype": "unknown dtype code 9",
  "bad-truncated-idx": "truncated: 170 bytes, its header (9 sequences, 5 document-index entries) needs 182",
  "bad-short-header": "truncated: 20 bytes, shorter than the 34-byte MMIDIDX header",
  "bad-trailing-idx": "3 bytes after the document index",
  "bad-pointer-past-end": "sequence 8 (4 ids at byte 68) runs past the end of",
  "bad-size-past-end": "sequence 8 (5 ids at byte 58) runs past the end of",
  "bad-pointers-inconsistent": "sequence 1 starts at byte 12, not 10 where sequence 0 ends",
  "bad-negative-size": "sequence 0 has size -1",
  "bad-doc-idx-decreasing": "the document index decreases: entry 2 is 2 after 3",
  "bad-doc-idx-end": "the document index ends at 8, not at the sequence count 9",
  "bad-doc-idx-start": "the document index starts at 1, not 0",
  "bad-doc-idx-empty": "the document index is empty",
  "bad-trailing-bin": "68 bytes, but",
  "bad-missing-bin": "no such file",
  "bad-negative-id": "id -5 at token 25 (document 3) is negative",
  "bad-id-too-large": "id 50277 at token 32 (document 3) is not below the tokenizer's vocabulary size 50257",
]

@Suite struct MegatronDatasetTests {
  @Test(arguments: megatronGoodFixtures)
  func readsTheIdsTheWriterWrote(name: String) throws {
    let documents = try #require(megatronDocuments(name))
    let dataset = try MegatronDataset(prefix: megatronFixtures + "/" + name)
    #expect(dataset.dtype == (name.hasSuffix("i32") ? .int32 : .uint16))
    #expect(dataset.documentCount == documents.count)
    #expect(dataset.tokenCount == documents.map(\.count).reduce(0, +))
    var ids: [UInt32] = []
    for (d, document) in documents.enumerated() {
      try dataset.readDocument(d, vocabularySize: 50257, into: &ids)
      #expect(ids == document, "document \(d)")
    }
  }

  @Test func fixturesCoverEmptySequencesAndEmptyDocuments() throws {
    for name in ["u16", "mcore-u16"] {
      let dataset = try MegatronDataset(prefix: megatronFixtures + "/" + name)
      let sizes = (0..<dataset.sequenceCount).map { dataset.tokenOffset(sequence: $0 + 1) - dataset.tokenOffset(sequence: $0) }
      #expect(sizes.contains(0), "\(name) has no empty sequence")
    }
    for name in ["i32", "mcore-u16"] {
      #expect(try #require(megatronDocuments(name)).contains([]), "\(name) has no empty document")
    }
  }

  @Test func sourceDigestIsTheIndexThenTheData() throws {
    let dataset = try MegatronDataset(prefix: megatronFixtures + "/u16")
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: dataset.indexPath)))
    bytes += Array(try Data(contentsOf: URL(fileURLWithPath: dataset.dataPath)))
    #expect(dataset.sourceSHA256() == SHA256.hex(of: bytes))
  }

  @Test func prefixBinAndIdxNameTheSameDataset() {
    #expect(MegatronDataset.prefix(of: "data/pile_text_document") == "data/pile_text_document")
    #expect(MegatronDataset.prefix(of: "data/pile_text_document.bin") == "data/pile_text_document")
    #expect(MegatronDataset.prefix(of: "data/pile_text_document.idx") == "data/pile_text_document")
  }

  @Test func everyBadFixtureHasItsDefectListed() {
    #expect(Set(MegatronExpected.fixtures.bad.keys) == Set(megatronDefects.keys))
  }

  /// Each defect is one line naming the file at fault, found at open or when its ids are read.
  @Test(arguments: megatronDefects.keys.sorted())
  func badFixtureIsAOneLineErrorNamingTheFile(name: String) throws {
    let culprit = megatronFixtures + "/" + (try #require(MegatronExpected.fixtures.bad[name]))
    let error = try #require(throws: MegatronFormatError.self) {
      let dataset = try MegatronDataset(prefix: megatronFixtures + "/" + name)
      var ids: [UInt32] = []
      for d in 0..<dataset.documentCount { try dataset.readDocument(d, vocabularySize: 50257, into: &ids) }
    }
    #expect(error.path == culprit)
    #expect(error.description.hasPrefix(culprit + ": "))
    #expect(error.reason.contains(try #require(megatronDefects[name])), "\(error)")
    #expect(!error.description.contains("\n"))
  }
}
