import Foundation
import Testing
import ZooStorage
import ZooSupport
import ZooTracking

@testable import ZooIngest

@Suite struct MegatronImporterTests {
  /// The fixtures' ids are GPT-2 ids, with 50256 at each document's end.
  let gpt2 = sharedTokenizer.vocabulary

  func importer(_ dir: TemporaryDirectory, vocabulary: TokenVocabulary? = nil, tracker: (any ExperimentTracker)? = nil)
    -> MegatronImporter
  {
    var importer = MegatronImporter(vocabulary: vocabulary ?? gpt2, outputDirectory: dir.path + "/out", tracker: tracker)
    importer.progressOnTerminal = nil
    return importer
  }

  /// The store holds every document's ids as the writer wrote them, with its document offsets.
  func expectStore(_ path: String, equals name: String, vocabulary: TokenVocabulary) throws {
    let documents = try #require(megatronDocuments(name))
    let store = try TokenStore(path: path)
    #expect(try store.readTokens(0..<store.tokenCount) == documents.flatMap { $0 })
    var offsets: [UInt64] = [0]
    for document in documents { offsets.append(offsets.last! + UInt64(document.count)) }
    #expect(try store.documentOffsets() == offsets)
    #expect(store.metadata.subsets == ["megatron"])
    #expect(try store.documentSubsets() == [UInt8](repeating: 0, count: documents.count))
    #expect(store.vocabulary == vocabulary)
    #expect(store.metadata.source == name)
    #expect(store.metadata.skippedLines == 0)
  }

  @Test(arguments: megatronGoodFixtures)
  func storeHoldsTheWritersIdsAndDocuments(name: String) throws {
    let dir = try TemporaryDirectory()
    let tracker = InMemoryTracker()
    let result = importer(dir, tracker: tracker).ingest(dataset: megatronFixtures + "/" + name)
    #expect(result.status == .written)
    #expect(result.output == dir.path + "/out/\(name).h5")
    try expectStore(result.output, equals: name, vocabulary: gpt2)
    let dataset = try MegatronDataset(prefix: megatronFixtures + "/" + name)
    #expect(try TokenStore(path: result.output).metadata.sourceSHA256 == dataset.sourceSHA256())
    let recorded = try #require(tracker.datasets[result.output])
    #expect(recorded.documents == dataset.documentCount && recorded.tokens == dataset.tokenCount)
    #expect(recorded.subsets == ["megatron"] && recorded.source == name)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out") == ["\(name).h5"])
  }

  /// A vocabulary over 65536 ids gives a uint32 `/tokens` with the same ids.
  @Test func wideVocabularyStoresTheSameIds() throws {
    let dir = try TemporaryDirectory()
    let wide = TokenVocabulary(tokenizer: "wide", tokenizerSHA256: "", vocabularySize: 100_000, endOfText: 50256)
    let result = importer(dir, vocabulary: wide).ingest(dataset: megatronFixtures + "/i32")
    #expect(result.status == .written)
    try expectStore(result.output, equals: "i32", vocabulary: wide)
  }

  @Test(arguments: [".bin", ".idx", ""])
  func binIdxOrPrefixGiveTheSameStore(suffix: String) throws {
    let dir = try TemporaryDirectory()
    let result = importer(dir).ingest(dataset: megatronFixtures + "/u16" + suffix)
    #expect(result.status == .written)
    #expect(result.shard == megatronFixtures + "/u16")
    #expect(result.output == dir.path + "/out/u16.h5")
  }

  @Test func unchangedDatasetIsUpToDateAndAnotherTokenizerIsNot() throws {
    let dir = try TemporaryDirectory()
    #expect(importer(dir).ingest(dataset: megatronFixtures + "/u16").status == .written)
    let again = importer(dir).ingest(dataset: megatronFixtures + "/u16")
    #expect(again.status == .upToDate)
    #expect(again.tokens == 33 && again.documents == 4)
    let wide = TokenVocabulary(tokenizer: "wide", tokenizerSHA256: "", vocabularySize: 100_000, endOfText: 50256)
    #expect(importer(dir, vocabulary: wide).ingest(dataset: megatronFixtures + "/u16").status == .written)
    #expect(try TokenStore(path: dir.path + "/out/u16.h5").vocabulary == wide)
  }

  /// A bad dataset fails with its one-line error and leaves nothing; the good one after it is written.
  @Test(arguments: megatronDefects.keys.sorted())
  func badDatasetFailsAloneWithoutOutput(name: String) throws {
    let dir = try TemporaryDirectory()
    let tracker = InMemoryTracker()
    let importer = importer(dir, tracker: tracker)
    let bad = importer.ingest(dataset: megatronFixtures + "/" + name)
    let culprit = megatronFixtures + "/" + (try #require(MegatronExpected.fixtures.bad[name]))
    guard case .failed(let reason) = bad.status else {
      Issue.record("\(name) was not rejected: \(bad.status)")
      return
    }
    #expect(reason.hasPrefix(culprit + ": "), "\(reason)")
    #expect(reason.contains(try #require(megatronDefects[name])), "\(reason)")
    #expect(!reason.contains("\n"))
    let good = importer.ingest(dataset: megatronFixtures + "/u16")
    #expect(good.status == .written)
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out") == ["u16.h5"])
    #expect(Array(tracker.datasets.keys) == [good.output])
  }

  /// Ids at or above the vocabulary size are refused even where the dtype holds them.
  @Test func idsAreCheckedAgainstTheGivenVocabulary() throws {
    let dir = try TemporaryDirectory()
    let small = TokenVocabulary(tokenizer: "small", tokenizerSHA256: "", vocabularySize: 50256, endOfText: 0)
    let result = importer(dir, vocabulary: small).ingest(dataset: megatronFixtures + "/u16")
    guard case .failed(let reason) = result.status else {
      Issue.record("50256 accepted with a vocabulary of 50256 ids")
      return
    }
    #expect(reason == megatronFixtures + "/u16.bin: id 50256 at token 8 (document 0) is not below the tokenizer's vocabulary size 50256")
    #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/u16.h5"))
  }
}
