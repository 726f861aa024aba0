import ZooSupport

/// Zoology's multi-query associative recall (MQAR) task (zoology/data/multiquery_ar.py,
/// docs/MODELS.md, "MQAR"), deterministic by seed.
///
/// Each example is `L` input tokens: a context of `D` key–value pairs `k1 v1 … kD vD` (repeated
/// `numPasses` times), then a query block where the `D` keys reappear, in random order, at even
/// offsets `2·g` whose gaps `g` follow a power law (`p(g) ∝ (g+1)^(a−1)`, so short gaps are
/// common, as repeated bigrams are in real text). Keys come from `1..<V/2`, values from
/// `V/2..<V`; token 0 is the filler. The target at a query is its value; every other target
/// is ``MQARExample/ignore`` (-100). Worked example (`V` 12, `D` 2, `L` 16, no random filler),
/// mirrored by a test:
///
/// ```
///          Key  Val  Key  Val                Query                         Query
/// inputs:   2    8    4    7    0    0    4    0    0    0    0    0    2    0    0    0
/// targets: -100 -100 -100 -100 -100 -100  7  -100 -100 -100 -100 -100   8  -100 -100 -100
/// ```
public struct MQARConfig: Codable, Sendable, Equatable, Hashable {
  /// Vocabulary size `V` (keys `1..<V/2`, values `V/2..<V`).
  public var vocabSize: Int
  /// Input length `L` (even).
  public var seqLen: Int
  /// Key–value pairs `D` per example.
  public var numKVPairs: Int
  /// Power-law exponent `a` of the query gaps (Zoology: 0.01).
  public var powerA: Double
  /// Times the key–value context is repeated (Zoology: 1).
  public var numPasses: Int
  /// Replace the filler zeros of the inputs by uniform random tokens (Zoology Figure 2: false).
  public var randomNonQueries: Bool

  /// A configuration; defaults follow Zoology's Figure 2.
  public init(
    vocabSize: Int = 8192, seqLen: Int = 64, numKVPairs: Int = 4, powerA: Double = 0.01, numPasses: Int = 1,
    randomNonQueries: Bool = false
  ) {
    self.vocabSize = vocabSize
    self.seqLen = seqLen
    self.numKVPairs = numKVPairs
    self.powerA = powerA
    self.numPasses = numPasses
    self.randomNonQueries = randomNonQueries
  }

  /// Checks Zoology's assertions: `L` even, `V > L`, `2·D·P + 2·D ≤ L`, enough keys and values.
  public func validate() throws {
    guard seqLen > 0, seqLen % 2 == 0 else { throw MQARError.invalid("seq_len \(seqLen) must be even and positive") }
    guard vocabSize > seqLen else { throw MQARError.invalid("vocab \(vocabSize) must exceed seq_len \(seqLen)") }
    guard numKVPairs >= 1, numPasses >= 1 else { throw MQARError.invalid("kv pairs and passes must be at least 1") }
    guard 2 * numKVPairs * numPasses + 2 * numKVPairs <= seqLen else {
      throw MQARError.invalid("2·kv·passes + 2·kv = \(2 * numKVPairs * numPasses + 2 * numKVPairs) exceeds seq_len \(seqLen)")
    }
    guard numKVPairs <= vocabSize / 2 - 1 else { throw MQARError.invalid("\(numKVPairs) kv pairs need more than \(vocabSize / 2 - 1) keys") }
  }
}

/// A batch of MQAR examples, row-major `[count, seqLen]`.
public struct MQARExamples: Sendable, Equatable {
  /// The target of a position that is not a query.
  public static let ignore: Int32 = -100
  /// Sequence length of every row.
  public let seqLen: Int
  /// Input tokens, `count·seqLen`.
  public var inputs: [Int32]
  /// Targets (`ignore` except at queries), `count·seqLen`.
  public var targets: [Int32]

  /// Number of examples.
  public var count: Int { inputs.count / seqLen }

  /// Row `i` of the inputs.
  public func input(_ i: Int) -> ArraySlice<Int32> { inputs[i * seqLen..<(i + 1) * seqLen] }
  /// Row `i` of the targets.
  public func target(_ i: Int) -> ArraySlice<Int32> { targets[i * seqLen..<(i + 1) * seqLen] }
}

/// Errors of the MQAR generator.
public enum MQARError: Error, CustomStringConvertible, Equatable {
  /// A configuration that Zoology's generator would reject.
  case invalid(String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .invalid(let why): "invalid MQAR configuration: \(why)"
    }
  }
}

/// Generates MQAR examples.
public enum MQARGenerator {
  /// `count` examples of `config`, deterministic in `seed`.
  public static func generate(_ config: MQARConfig, count: Int, seed: UInt64) throws -> MQARExamples {
    try config.validate()
    let L = config.seqLen
    let D = config.numKVPairs
    let V = config.vocabSize
    let C = 2 * D * config.numPasses
    let space = (L - C) / 2
    // p(g) ∝ a·(g+1)^(a−1); the constant a cancels.
    let weights = (0..<space).map { g in _pow(Double(g + 1), config.powerA - 1) }
    var rng = SplitMix64(seed: seed)
    var inputs = [Int32](repeating: 0, count: count * L)
    var targets = [Int32](repeating: MQARExamples.ignore, count: count * L)
    var keyPool = Array(1..<(V / 2))
    var valuePool = Array((V / 2)..<V)
    for e in 0..<count {
      let keys = sampleDistinct(from: &keyPool, count: D, rng: &rng)
      let values = sampleDistinct(from: &valuePool, count: D, rng: &rng)
      let gaps = weightedDistinct(weights: weights, count: D, rng: &rng)
      layout(
        keys: keys, values: values, gaps: gaps, config: config, inputs: &inputs, targets: &targets, row: e * L)
      if config.randomNonQueries {
        for t in e * L..<(e + 1) * L where inputs[t] == 0 { inputs[t] = Int32(rng.nextInt(below: V)) }
      }
    }
    return MQARExamples(seqLen: L, inputs: inputs, targets: targets)
  }

  /// Writes one example into row `row` (a flat offset) of `inputs`/`targets`: the key–value
  /// context, then key `i` at query position `C + 2·gaps[i]` with target `values[i]`.
  static func layout(
    keys: [Int], values: [Int], gaps: [Int], config: MQARConfig, inputs: inout [Int32], targets: inout [Int32],
    row: Int
  ) {
    let D = keys.count
    let C = 2 * D * config.numPasses
    for pass in 0..<config.numPasses {
      for i in 0..<D {
        inputs[row + pass * 2 * D + 2 * i] = Int32(keys[i])
        inputs[row + pass * 2 * D + 2 * i + 1] = Int32(values[i])
      }
    }
    for i in 0..<D {
      let position = C + 2 * gaps[i]
      inputs[row + position] = Int32(keys[i])
      targets[row + position] = Int32(values[i])
    }
  }

  /// Fraction of `test` rows whose inputs also occur in `train` (Zoology warns above 0.1 %).
  public static func leakage(train: MQARExamples, test: MQARExamples) -> Double {
    guard test.count > 0 else { return 0 }
    let seen = Set((0..<train.count).map { Array(train.input($0)) })
    let leaked = (0..<test.count).filter { seen.contains(Array(test.input($0))) }.count
    return Double(leaked) / Double(test.count)
  }

  /// `count` distinct elements of `pool`, uniformly without replacement (partial Fisher–Yates;
  /// `pool` is left permuted, which keeps later draws uniform).
  private static func sampleDistinct(from pool: inout [Int], count: Int, rng: inout SplitMix64) -> [Int] {
    for i in 0..<count { pool.swapAt(i, i + rng.nextInt(below: pool.count - i)) }
    return Array(pool[0..<count])
  }

  /// `count` distinct indices drawn one after another with probability ∝ `weights` among the
  /// indices not drawn yet (numpy's `choice(replace=False, p=…)` distribution).
  static func weightedDistinct(weights: [Double], count: Int, rng: inout SplitMix64) -> [Int] {
    var remaining = weights
    var total = remaining.reduce(0, +)
    var chosen: [Int] = []
    for _ in 0..<count {
      var u = rng.nextDouble() * total
      var pick = remaining.count - 1
      for (i, w) in remaining.enumerated() where w > 0 {
        if u < w {
          pick = i
          break
        }
        u -= w
      }
      while remaining[pick] == 0 { pick -= 1 }  // rounding at the far end
      chosen.append(pick)
      total -= remaining[pick]
      remaining[pick] = 0
    }
    return chosen
  }
}

#if canImport(Glibc)
  import Glibc
  private func _pow(_ x: Double, _ y: Double) -> Double { Glibc.pow(x, y) }
#else
  import Darwin
  private func _pow(_ x: Double, _ y: Double) -> Double { Darwin.pow(x, y) }
#endif
