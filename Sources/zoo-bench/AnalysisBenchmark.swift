import ArgumentParser
import Foundation
import ZooAnalysis
import ZooStorage
import ZooSupport

/// `zoo-bench analyze`: tokens per second of AR marking and stratification on one core.
///
/// Synthetic data shaped like the paper's evaluation: 2048-token windows, documents of about a
/// thousand tokens over 22 subsets, log-uniform token ids with copied spans (so a few percent of
/// tokens are AR hits). It first checks the marker against ``ReferenceARMarker`` on the first
/// windows, then times each case (one warm-up, then the median of `--repeats`) and prints CSV:
/// `name,tokens,runs,median_ms,mtokens_per_s,ar_share`.
struct AnalysisBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "analyze", abstract: "Time AR marking and stratification (one core; build with -c release).")

  @Option(help: "Tokens of synthetic data.")
  var tokens = 32 << 20

  @Option(help: "Window length (the loss file's seq_len).")
  var window = 2048

  @Option(help: "Timed repetitions per case.")
  var repeats = 5

  @Option(help: "Seed of the synthetic data.")
  var seed: UInt64 = 1

  mutating func validate() throws {
    guard tokens >= window, window >= 2, repeats >= 1 else {
      throw ValidationError("need --tokens >= --window >= 2 and --repeats >= 1")
    }
  }

  func run() throws {
    let data = SyntheticEvaluation(tokens: tokens, window: window, seed: seed)
    try data.checkMarker(windows: 64)
    var counts = BigramCounts(budgetBytes: 1 << 30)
    data.tokens.withUnsafeBufferPointer { counts.add($0, after: nil) }
    let store = MemoryTokenSource(data: data)
    let loss = { (run: String) in MemoryLossSource(run: run, data: data) }

    print("name,tokens,runs,median_ms,mtokens_per_s,ar_share")
    var arShare = Double.nan
    var codes = [UInt32](repeating: 0, count: data.tokens.count)
    time("ar_mark", runs: 0) {
      var marker = ARMarker(context: .window, endOfText: SyntheticEvaluation.vocabulary.endOfText, maxWindowLength: window)
      data.tokens.withUnsafeBufferPointer { t in
        codes.withUnsafeMutableBufferPointer { marker.mark(tokens: t, windowStarts: data.starts, codes: $0) }
      }
      arShare = Double(codes.lazy.filter { $0 != 0 }.count) / Double(data.tokens.count - data.starts.count)
    }
    let cases: [(String, [any LossSource], BigramCounts?)] = [
      ("mark_stratify", [loss("a")], nil),
      ("mark_stratify", [loss("a"), loss("b"), loss("c")], nil),
      ("mark_stratify_bigrams", [loss("a")], counts),
    ]
    for (name, losses, bigrams) in cases {
      try time(name, runs: losses.count) {
        let result = try GapAnalysis.run(tokens: store, losses: losses, options: GapAnalysisOptions(bigrams: bigrams))
        arShare = try GapReport(result: result).summaries[0].arShare
      }
    }
    func time(_ name: String, runs: Int, _ body: () throws -> Void) rethrows {
      try body()
      var samples: [Double] = []
      for _ in 0..<repeats {
        let start = ContinuousClock.now
        try body()
        let elapsed = ContinuousClock.now - start
        samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
      }
      let median = samples.sorted()[samples.count / 2]
      print(
        "\(name),\(data.tokens.count),\(runs),\(String(format: "%.1f", median * 1e3)),"
          + "\(String(format: "%.1f", Double(data.tokens.count) / median / 1e6)),\(String(format: "%.4f", arShare))")
    }
  }
}

/// Synthetic tokens, window starts, documents and losses.
private struct SyntheticEvaluation {
  /// A GPT-2-sized vocabulary whose documents end with id 0.
  static let vocabulary = TokenVocabulary(tokenizer: "synthetic", tokenizerSHA256: "", vocabularySize: 50_000, endOfText: 0)
  var tokens: [UInt32]
  var starts: [Int]
  var offsets: [UInt64] = [0]
  var subsets: [UInt8] = []
  var losses: [Float]

  init(tokens count: Int, window: Int, seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    tokens = [UInt32](repeating: 0, count: count)
    losses = [Float](repeating: 0, count: count)
    starts = Array(stride(from: 0, to: count, by: window))
    var t = 0
    while t < count {
      let windowStart = t - t % window
      if t - windowStart > 64 && rng.nextInt(below: 150) == 0 {
        // Copy a span from earlier in the window: its bigrams repeat.
        let from = windowStart + rng.nextInt(below: t - windowStart - 16)
        for k in 0..<min(4 + rng.nextInt(below: 12), count - t) { tokens[t + k] = tokens[from + k] }
        t += min(4 + rng.nextInt(below: 12), count - t)
        continue
      }
      // Log-uniform ids: a heavy head of frequent tokens, as in text.
      tokens[t] = UInt32(min(49_999.0, exp(rng.nextDouble() * log(50_000.0))))
      if rng.nextInt(below: 1000) == 0 {
        tokens[t] = Self.vocabulary.endOfText
        offsets.append(UInt64(t + 1))
        subsets.append(UInt8(rng.nextInt(below: 22)))
      }
      t += 1
    }
    if offsets.last != UInt64(count) { offsets.append(UInt64(count)) }
    subsets.append(UInt8(rng.nextInt(below: 22)))
    subsets = Array(subsets.prefix(offsets.count - 1))
    for i in losses.indices { losses[i] = 0.5 + 6 * rng.nextFloat() }
    for s in starts { losses[s] = .nan }
  }

  /// The fast marker must agree with the brute-force one before anything is timed.
  func checkMarker(windows: Int) throws {
    let n = min(tokens.count, starts.count > windows ? starts[windows] : tokens.count)
    let sample = Array(tokens[0..<n])
    let sampleStarts = starts.filter { $0 < n }
    let eot = Self.vocabulary.endOfText
    let expected = ReferenceARMarker.codes(tokens: sample, windowStarts: sampleStarts, context: .window, endOfText: eot)
    let got = arHits(tokens: sample, windowStarts: sampleStarts, endOfText: eot).map { $0.map { $0 + 1 } ?? 0 }
    guard got == expected else { throw ValidationError("ARMarker disagrees with ReferenceARMarker") }
  }
}

private struct MemoryTokenSource: TokenSource {
  let data: SyntheticEvaluation
  var path: String { "synthetic" }
  var tokenCount: Int { data.tokens.count }
  var subsetNames: [String] { (0..<22).map { "subset\($0)" } }
  var vocabulary: TokenVocabulary { SyntheticEvaluation.vocabulary }
  func readTokens(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt32>) throws {
    _ = buffer.update(fromContentsOf: data.tokens[range])
  }
  func documentOffsets() throws -> [UInt64] { data.offsets }
  func documentSubsets() throws -> [UInt8] { data.subsets }
}

private struct MemoryLossSource: LossSource {
  let run: String
  let data: SyntheticEvaluation
  var info: LossSourceInfo {
    LossSourceInfo(path: run, run: run, tokenStore: "synthetic", tokenStoreSHA256: "", rangeStart: 0, rangeEnd: data.tokens.count)
  }
  var count: Int { data.losses.count }
  func windowStarts() throws -> [UInt64] { data.starts.map { UInt64($0) } }
  func readLosses(_ range: Range<Int>) throws -> [Float] { Array(data.losses[range]) }
}
