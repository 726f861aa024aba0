import Testing
import ZooSupport

@testable import ZooTrain

@Suite struct MQARGeneratorTests {
  /// The worked example of MQARConfig's documentation (and zoology's docstring).
  @Test func documentedExampleLayout() {
    let config = MQARConfig(vocabSize: 12, seqLen: 16, numKVPairs: 2)
    var inputs = [Int32](repeating: 0, count: 16)
    var targets = [Int32](repeating: MQARExamples.ignore, count: 16)
    MQARGenerator.layout(keys: [2, 4], values: [8, 7], gaps: [4, 1], config: config, inputs: &inputs, targets: &targets, row: 0)
    #expect(inputs == [2, 8, 4, 7, 0, 0, 4, 0, 0, 0, 0, 0, 2, 0, 0, 0])
    #expect(targets == [-100, -100, -100, -100, -100, -100, 7, -100, -100, -100, -100, -100, 8, -100, -100, -100])
  }

  @Test(arguments: [
    MQARConfig(vocabSize: 256, seqLen: 64, numKVPairs: 4),
    MQARConfig(vocabSize: 8192, seqLen: 256, numKVPairs: 16),
    MQARConfig(vocabSize: 100, seqLen: 40, numKVPairs: 5, numPasses: 2),
  ])
  func labelsKeysAndValues(config: MQARConfig) throws {
    let data = try MQARGenerator.generate(config, count: 300, seed: 5)
    let V = Int32(config.vocabSize)
    let D = config.numKVPairs
    let C = 2 * D * config.numPasses
    for e in 0..<data.count {
      let input = Array(data.input(e))
      let target = Array(data.target(e))
      let keys = stride(from: 0, to: 2 * D, by: 2).map { input[$0] }
      let values = stride(from: 1, to: 2 * D, by: 2).map { input[$0] }
      #expect(Set(keys).count == D && Set(values).count == D, "example \(e)")
      #expect(keys.allSatisfy { $0 >= 1 && $0 < V / 2 }, "example \(e) keys \(keys)")
      #expect(values.allSatisfy { $0 >= V / 2 && $0 < V }, "example \(e) values \(values)")
      // The context repeats for every pass.
      for pass in 1..<config.numPasses { #expect(Array(input[pass * 2 * D..<(pass + 1) * 2 * D]) == Array(input[0..<2 * D])) }
      // Exactly D labelled positions, all in the query block at even offsets, each the value of its key.
      let labelled = target.indices.filter { target[$0] != MQARExamples.ignore }
      #expect(labelled.count == D, "example \(e)")
      for t in labelled {
        #expect(t >= C && (t - C) % 2 == 0, "example \(e) position \(t)")
        let k = try #require(keys.firstIndex(of: input[t]))
        #expect(target[t] == values[k], "example \(e) position \(t)")
      }
      #expect(Set(labelled.map { input[$0] }) == Set(keys), "every key is queried once")
      // Filler stays 0 without random_non_queries.
      let other = Set(0..<config.seqLen).subtracting(labelled).subtracting(0..<C)
      #expect(other.allSatisfy { input[$0] == 0 }, "example \(e)")
    }
  }

  /// With one kv pair, the query gap's frequencies match p(g) ∝ (g+1)^(a−1).
  @Test func gapDistributionFollowsThePowerLaw() throws {
    let config = MQARConfig(vocabSize: 256, seqLen: 20, numKVPairs: 1)
    let n = 40_000
    let data = try MQARGenerator.generate(config, count: n, seed: 11)
    let space = (config.seqLen - 2) / 2
    var counts = [Int](repeating: 0, count: space)
    for e in 0..<n {
      let t = try #require(data.target(e).firstIndex { $0 != MQARExamples.ignore }) - e * config.seqLen
      counts[(t - 2) / 2] += 1
    }
    let weights = (0..<space).map { pow(Double($0 + 1), config.powerA - 1) }
    let total = weights.reduce(0, +)
    for g in 0..<space {
      let expected = weights[g] / total
      let observed = Double(counts[g]) / Double(n)
      let sigma = (expected * (1 - expected) / Double(n)).squareRoot()
      #expect(abs(observed - expected) < 5 * sigma, "gap \(g): observed \(observed), expected \(expected)")
    }
    // The law strongly favours short gaps: g = 0 is about 8.7× as likely as g = 8.
    #expect(counts[0] > 5 * counts[8])
  }

  @Test func deterministicBySeed() throws {
    let config = MQARConfig(vocabSize: 8192, seqLen: 128, numKVPairs: 8, randomNonQueries: true)
    let a = try MQARGenerator.generate(config, count: 50, seed: 42)
    let b = try MQARGenerator.generate(config, count: 50, seed: 42)
    let c = try MQARGenerator.generate(config, count: 50, seed: 43)
    #expect(a == b)
    #expect(a != c)
    // Random filler leaves (almost) no zeros: 0 is drawn with probability 1/8192 per position.
    #expect(a.inputs.filter { $0 == 0 }.count < 10)
  }

  @Test func leakageBetweenSplits() throws {
    let config = MQARConfig(vocabSize: 8192, seqLen: 64, numKVPairs: 4)
    let train = try MQARGenerator.generate(config, count: 2000, seed: 1)
    let test = try MQARGenerator.generate(config, count: 200, seed: 2)
    #expect(MQARGenerator.leakage(train: train, test: test) == 0)
    #expect(MQARGenerator.leakage(train: train, test: train) == 1)
  }

  @Test func rejectsWhatZoologyRejects() {
    for config in [
      MQARConfig(vocabSize: 256, seqLen: 63, numKVPairs: 4),
      MQARConfig(vocabSize: 64, seqLen: 64, numKVPairs: 4),
      MQARConfig(vocabSize: 256, seqLen: 16, numKVPairs: 5),
    ] {
      #expect(throws: MQARError.self) { try MQARGenerator.generate(config, count: 1, seed: 0) }
    }
  }
}

#if canImport(Glibc)
  import Glibc
#endif
