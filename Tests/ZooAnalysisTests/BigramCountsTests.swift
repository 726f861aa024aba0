import Foundation
import Testing
import ZooAnalysis
import ZooStorage
import ZooSupport

@Suite struct BigramCountsTests {
  func randomTokens(count: Int, vocabulary: Int, seed: UInt64) -> [UInt32] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in UInt32(rng.nextInt(below: vocabulary)) }
  }

  func bruteForce(_ tokens: [UInt32], acrossDocuments: Bool = true) -> [UInt32: UInt64] {
    var counts: [UInt32: UInt64] = [:]
    for i in 1..<tokens.count where acrossDocuments || tokens[i - 1] != endOfTextToken {
      counts[BigramCounts.key(tokens[i - 1], tokens[i]), default: 0] += 1
    }
    return counts
  }

  @Test func exactCountsMatchBruteForceAcrossChunks() throws {
    for seed in 0..<5 as Range<UInt64> {
      var tokens = randomTokens(count: 20_000, vocabulary: 60, seed: seed)
      for i in stride(from: 7, to: tokens.count, by: 97) { tokens[i] = endOfTextToken }
      let store = ArrayTokenSource(tokens: tokens, offsets: [], subsets: [], subsetNames: [])
      for across in [true, false] {
        let (counts, _, sources) = try BigramCounting.count(
          stores: [store], budgetBytes: 1 << 20, acrossDocuments: across, chunkTokens: 777)
        let expected = bruteForce(tokens, acrossDocuments: across)
        #expect(counts.isExact, "seed \(seed)")
        #expect(counts.distinct == expected.count, "seed \(seed), across \(across)")
        #expect(counts.total == expected.values.reduce(0, +), "seed \(seed), across \(across)")
        for (key, count) in expected where counts.count(of: key) != count {
          Issue.record("seed \(seed), across \(across): key \(key) counted \(counts.count(of: key)), expected \(count)")
          break
        }
        #expect(counts.count(of: BigramCounts.key(61, 61)) == 0)
        #expect(sources == [.init(file: "memory.h5", tokens: 20_000)])
      }
    }
  }

  @Test func tenMillionTokensStayWithinTheBudget() throws {
    // 10M uniform tokens over 1000 ids: about a million distinct bigrams, 16 MiB of exact table;
    // the 4 MiB budget forces the count-min fallback.
    let budget = 4 << 20
    var counts = BigramCounts(budgetBytes: budget)
    var rng = SplitMix64(seed: 7)
    var chunk = [UInt32](repeating: 0, count: 1 << 20)
    var previous: UInt32? = nil
    var peak = 0
    for _ in 0..<10 {
      for i in chunk.indices { chunk[i] = UInt32(truncatingIfNeeded: rng.next() % 1000) }
      chunk.withUnsafeBufferPointer { counts.add($0, after: previous) }
      previous = chunk.last
      peak = max(peak, counts.memoryBytes)
    }
    #expect(peak <= budget, "peak \(peak) bytes over a \(budget)-byte budget")
    #expect(!counts.isExact)
    #expect(counts.total == 10 * (1 << 20) - 1)
    let sketch = try #require(counts.sketch)
    #expect(sketch.epsilon < 3e-5 && sketch.delta <= 0.01, "ε \(sketch.epsilon), δ \(sketch.delta)")
  }

  @Test func sketchNeverUndercountsAndMostlyStaysWithinItsBound() throws {
    for seed in 0..<3 as Range<UInt64> {
      let tokens = randomTokens(count: 60_000, vocabulary: 300, seed: 100 + seed)
      let store = ArrayTokenSource(tokens: tokens, offsets: [], subsets: [], subsetNames: [])
      let (counts, _, _) = try BigramCounting.count(stores: [store], budgetBytes: 16 << 10, delta: 0.01)
      let sketch = try #require(counts.sketch, "seed \(100 + seed): expected the sketch fallback")
      #expect(counts.memoryBytes <= 16 << 10)
      let bound = sketch.epsilon * Double(counts.total)
      var outside = 0
      let expected = bruteForce(tokens)
      for (key, count) in expected {
        let estimate = counts.count(of: key)
        #expect(estimate >= count, "seed \(100 + seed): key \(key) undercounted")
        if Double(estimate - count) > bound { outside += 1 }
      }
      #expect(Double(outside) <= 0.01 * Double(expected.count), "seed \(100 + seed): \(outside) of \(expected.count) past ε·N")
    }
  }

  @Test func filesRoundTripInBothModes() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bigrams-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let tokens = randomTokens(count: 30_000, vocabulary: 200, seed: 3)
    let store = ArrayTokenSource(tokens: tokens, offsets: [], subsets: [], subsetNames: [])
    for budget in [1 << 20, 8 << 10] {
      let (counts, _, sources) = try BigramCounting.count(stores: [store], budgetBytes: budget)
      let header = BigramCountsFile.header(for: counts, acrossDocuments: true, vocabulary: testVocabulary, sources: sources)
      let path = dir + "/b\(budget).bin"
      try BigramCountsFile.write(counts, header: header, to: path)
      let (read, readHeader) = try BigramCountsFile.read(path: path)
      #expect(readHeader == header)
      #expect(readHeader.mode == (budget == 1 << 20 ? "exact" : "count-min"))
      #expect(read.total == counts.total)
      for key in bruteForce(tokens).keys.prefix(2000) {
        #expect(read.count(of: key) == counts.count(of: key), "budget \(budget), key \(key)")
      }
    }
  }

  @Test func corruptFilesAreRejectedWithTheirName() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bad-\(UUID().uuidString).bin").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try Data("not a bigram file at all".utf8).write(to: URL(fileURLWithPath: path))
    #expect(throws: AnalysisError.badBigramFile(file: path, reason: "missing ZOOBIGR1 magic")) {
      try BigramCountsFile.read(path: path)
    }
  }

  /// Counting refuses stores past 16-bit ids and stores of two tokenizers.
  @Test func refusesWideAndMixedVocabularies() throws {
    var wide = ArrayTokenSource(tokens: [1, 2], offsets: [], subsets: [], subsetNames: [])
    wide.vocabulary = TokenVocabulary(tokenizer: "big", tokenizerSHA256: "", vocabularySize: 1 << 17, endOfText: 0)
    #expect(throws: AnalysisError.self) { try BigramCounting.count(stores: [wide], budgetBytes: 1 << 20) }
    var neox = ArrayTokenSource(path: "neox.h5", tokens: [1, 2], offsets: [], subsets: [], subsetNames: [])
    neox.vocabulary = TokenVocabulary(tokenizer: "gpt-neox-20b", tokenizerSHA256: "", vocabularySize: 50277, endOfText: 0)
    let gpt2 = ArrayTokenSource(tokens: [1, 2], offsets: [], subsets: [], subsetNames: [])
    let error = try #require(throws: AnalysisError.self) { try BigramCounting.count(stores: [gpt2, neox], budgetBytes: 1 << 20) }
    #expect("\(error)".contains("neox.h5") && "\(error)".contains("gpt-neox-20b"))
  }
}
