import Foundation
import Testing
import ZooSupport

@testable import ZooStorage

/// 16-bit ids ending documents with 50256, as GPT-2's do.
let sixteenBit = TokenVocabulary(tokenizer: "test16", tokenizerSHA256: "aa", vocabularySize: 65536, endOfText: 50256)
/// Ids past 16 bits, documents ending with 0.
let thirtyTwoBit = TokenVocabulary(tokenizer: "test32", tokenizerSHA256: "bb", vocabularySize: 200_000, endOfText: 0)

@Suite struct TokenStoreTests {
  @Test func roundTripWithAttributes() throws {
    let dir = try TempDir()
    let path = dir.path + "/s.h5"
    let writer = try TokenStoreWriter(path: path, vocabulary: sixteenBit)
    let docs: [([UInt32], String)] = [([1, 2, 3], "Github"), ([], "Pile-CC"), ([65535, 0], "Github")]
    for (ids, subset) in docs { try ids.withUnsafeBufferPointer { try writer.appendDocument($0, subset: subset) } }
    #expect(!FileManager.default.fileExists(atPath: path), "nothing at the final path before commit")
    let written = try writer.commit(source: "00.jsonl.zst", sourceSHA256: "abc", skippedLines: 4)
    #expect(dir.entries == ["s.h5"], "no temporary file left: \(dir.entries)")
    let store = try TokenStore(path: path)
    #expect(store.metadata == written)
    #expect(store.metadata.subsets == ["Github", "Pile-CC"])
    #expect(store.metadata.documents == 3 && store.metadata.tokens == 8 && store.metadata.skippedLines == 4)
    #expect(store.metadata.source == "00.jsonl.zst" && store.metadata.sourceSHA256 == "abc")
    #expect(try store.readTokens(0..<8) == [1, 2, 3, 50256, 50256, 65535, 0, 50256])
    #expect(try store.readTokens(3..<6) == [50256, 50256, 65535])
    #expect(try store.documentOffsets() == [0, 4, 5, 8])
    #expect(try store.documentSubsets() == [0, 1, 0])
    #expect(throws: StorageError.self) { try store.readTokens(5..<9) }
    #expect(store.vocabulary == sixteenBit)
  }

  /// A vocabulary past 16 bits is stored as uint32, ids and EOT as they are; ids outside the
  /// vocabulary are refused.
  @Test func wideVocabularyStoresThirtyTwoBitIDs() throws {
    let dir = try TempDir()
    let path = dir.path + "/wide.h5"
    let writer = try TokenStoreWriter(path: path, vocabulary: thirtyTwoBit)
    try [UInt32]([70_000, 1, 199_999]).withUnsafeBufferPointer { try writer.appendDocument($0, subset: "S") }
    try [UInt32]([5, 0]).withUnsafeBufferPointer { try writer.appendDocument($0, subset: "S", endOfText: false) }
    #expect(throws: StorageError.self) {
      try [UInt32]([200_000]).withUnsafeBufferPointer { try writer.appendDocument($0, subset: "S") }
    }
    try writer.commit(source: "x", sourceSHA256: "y", skippedLines: 0)
    let store = try TokenStore(path: path)
    #expect(store.vocabulary == thirtyTwoBit)
    #expect(try store.readTokens(0..<store.tokenCount) == [70_000, 1, 199_999, 0, 5, 0])
    #expect(try store.documentOffsets() == [0, 4, 6])
  }

  @Test func manyChunks() throws {
    let dir = try TempDir()
    let path = dir.path + "/big.h5"
    let writer = try TokenStoreWriter(path: path, vocabulary: sixteenBit)
    var expected: [UInt32] = []
    for d in 0..<7 {
      let ids = (0..<(400_000 + d)).map { UInt32(truncatingIfNeeded: UInt16(truncatingIfNeeded: $0 &* 31 &+ d)) }
      try ids.withUnsafeBufferPointer { try writer.appendDocument($0, subset: "S") }
      expected += ids + [50256]
    }
    try writer.commit(source: "x", sourceSHA256: "y", skippedLines: 0)
    let store = try TokenStore(path: path)
    #expect(store.tokenCount == expected.count)
    #expect(try store.readTokens(0..<store.tokenCount) == expected)
    let middle = (1 << 20) - 5..<(1 << 20) + 5
    #expect(try store.readTokens(middle) == Array(expected[middle]))
  }

  @Test func abortAndDeinitLeaveNothing() throws {
    let dir = try TempDir()
    let a = try TokenStoreWriter(path: dir.path + "/a.h5", vocabulary: sixteenBit)
    try [UInt32](repeating: 7, count: 10).withUnsafeBufferPointer { try a.appendDocument($0, subset: "S") }
    a.abort()
    do {
      let b = try TokenStoreWriter(path: dir.path + "/b.h5", vocabulary: sixteenBit)
      try [UInt32](repeating: 7, count: 10).withUnsafeBufferPointer { try b.appendDocument($0, subset: "S") }
    }
    #expect(dir.entries.isEmpty, "left \(dir.entries)")
  }

  @Test func rejectsOtherFiles() throws {
    let dir = try TempDir()
    let garbage = try dir.write("g.h5", Array("not hdf5".utf8))
    #expect("\(try #require(throws: StorageError.self) { try TokenStore(path: garbage) })".contains("g.h5"))
    #expect(throws: StorageError.missing(path: dir.path + "/none.h5")) { try TokenStore(path: dir.path + "/none.h5") }
    let losses = dir.path + "/l.h5"
    try LossFile.write(
      path: losses, losses: [.nan], windowStarts: [0],
      metadata: LossFileMetadata(tokenStore: "s.h5", tokenStoreSHA256: "x", rangeStart: 0, rangeEnd: 1, seqLen: 1, run: "r", modelJSON: "{}"))
    let error = try #require(throws: StorageError.self) { try TokenStore(path: losses) }
    #expect("\(error)".contains("not a zoo.tokens.v1 file"))
  }

  @Test func tooManySubsets() throws {
    let dir = try TempDir()
    let writer = try TokenStoreWriter(path: dir.path + "/s.h5", vocabulary: sixteenBit)
    for i in 0..<256 { try [UInt32]().withUnsafeBufferPointer { try writer.appendDocument($0, subset: "S\(i)") } }
    #expect(throws: StorageError.self) { try [UInt32]().withUnsafeBufferPointer { try writer.appendDocument($0, subset: "one more") } }
  }
}

@Suite struct LossFileTests {
  let metadata = LossFileMetadata(
    tokenStore: "01.h5", tokenStoreSHA256: "f00d", rangeStart: 100, rangeEnd: 106, seqLen: 3, run: "attn",
    modelJSON: #"{"mixer":"attention"}"#)

  @Test func roundTripWithNaNs() throws {
    let dir = try TempDir()
    let path = dir.path + "/runs/attn/losses.h5"
    let losses: [Float] = [.nan, 1.5, 2.25, .nan, 0.125, 3]
    try LossFile.write(path: path, losses: losses, windowStarts: [0, 3], metadata: metadata)
    let reader = try LossFileReader(path: path)
    #expect(reader.metadata == metadata)
    #expect(reader.count == 6)
    #expect(try reader.windowStarts() == [0, 3])
    let back = try reader.readLosses(0..<6)
    #expect(zip(back, losses).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 })
    #expect(try reader.readLosses(4..<6) == [0.125, 3])
  }

  @Test func rejectsInconsistentInput() throws {
    let dir = try TempDir()
    #expect(throws: StorageError.self) {
      try LossFile.write(path: dir.path + "/a.h5", losses: [1, 2], windowStarts: [0], metadata: metadata)
    }
    #expect(throws: StorageError.self) {
      try LossFile.write(path: dir.path + "/b.h5", losses: [Float](repeating: 1, count: 6), windowStarts: [0, 3, 3], metadata: metadata)
    }
    #expect(dir.entries.isEmpty)
  }
}
