/// Settings of a gap analysis.
public struct GapAnalysisOptions: Sendable {
  /// Where AR hits may find their earlier occurrence.
  public var context: ARContext
  /// Training bigram counts, for the frequency strata (`ar_by_frequency.csv`); optional.
  public var bigrams: BigramCounts?
  /// Bigram-frequency buckets (used only with `bigrams`).
  public var frequencyBuckets: Buckets
  /// About how many tokens are read per step (whole windows, so a step may hold more).
  public var chunkTokens: Int

  /// Options; the defaults follow docs/ANALYSIS.md, "AR hits" and "Buckets".
  public init(
    context: ARContext = .window, bigrams: BigramCounts? = nil,
    frequencyBuckets: Buckets = .powersOfTen(), chunkTokens: Int = 1 << 20
  ) {
    self.context = context
    self.bigrams = bigrams
    self.frequencyBuckets = frequencyBuckets
    self.chunkTokens = chunkTokens
  }
}

/// The strata totals of every run over the same tokens.
public struct GapAnalysisResult: Sendable {
  /// Run names, in the order given.
  public var runs: [String]
  /// Totals per run, aligned with `runs`.
  public var totals: [StrataTotals]
  /// The AR context used.
  public var context: ARContext
}

/// The streaming gap analysis: reads the scored token range in chunks of whole windows, assigns
/// each token its strata once, and adds every run's losses to its cells. Memory is a few bytes per
/// chunk token plus the bigram counts, whatever the range length.
public enum GapAnalysis {
  /// Checks that all loss files score the same token range of the same store with the same
  /// windows, and returns those window starts.
  public static func checkRuns(_ sources: [any LossSource]) throws -> [Int] {
    guard let first = sources.first else { throw AnalysisError.invalidRequest("no runs to analyze") }
    let reference = first.info
    let starts = try checkedWindowStarts(first)
    for source in sources.dropFirst() {
      let info = source.info
      func differ(_ reason: String) -> AnalysisError {
        .runsDiffer(file: info.path, reference: reference.path, reason: reason)
      }
      if info.tokenStore != reference.tokenStore || info.tokenStoreSHA256 != reference.tokenStoreSHA256 {
        throw differ("token store \(info.tokenStore) (sha256 \(info.tokenStoreSHA256.prefix(12))) differs from \(reference.tokenStore) (sha256 \(reference.tokenStoreSHA256.prefix(12)))")
      }
      if info.rangeStart != reference.rangeStart || info.rangeEnd != reference.rangeEnd {
        throw differ("token range \(info.rangeStart)..<\(info.rangeEnd) differs from \(reference.rangeStart)..<\(reference.rangeEnd)")
      }
      if try checkedWindowStarts(source) != starts { throw differ("window starts differ") }
    }
    return starts
  }

  private static func checkedWindowStarts(_ source: any LossSource) throws -> [Int] {
    let info = source.info
    let length = info.rangeEnd - info.rangeStart
    guard length >= 0, info.rangeStart >= 0 else {
      throw AnalysisError.badWindows(file: info.path, reason: "range \(info.rangeStart)..<\(info.rangeEnd) is empty or negative")
    }
    guard source.count == length else {
      throw AnalysisError.badWindows(file: info.path, reason: "\(source.count) losses for a range of \(length) tokens")
    }
    let starts = try source.windowStarts().map { Int(clamping: $0) }
    if length > 0 && starts.first != 0 {
      throw AnalysisError.badWindows(file: info.path, reason: "the first window starts at \(starts.first.map(String.init) ?? "nothing"), not 0")
    }
    for (a, b) in zip(starts, starts.dropFirst()) where b <= a {
      throw AnalysisError.badWindows(file: info.path, reason: "window start \(b) follows \(a)")
    }
    if let last = starts.last, last >= length {
      throw AnalysisError.badWindows(file: info.path, reason: "window start \(last) is past the range of \(length) tokens")
    }
    return starts
  }

  /// Runs the analysis of `losses` (one source per run, all scoring the same range of `tokens`).
  /// `progress` receives the number of range tokens done after each chunk.
  public static func run(
    tokens: any TokenSource, losses: [any LossSource], options: GapAnalysisOptions = GapAnalysisOptions(),
    progress: (Int) -> Void = { _ in }
  ) throws -> GapAnalysisResult {
    let starts = try checkRuns(losses)
    let info = losses[0].info
    guard info.rangeEnd <= tokens.tokenCount else {
      throw AnalysisError.tokenStoreMismatch(file: tokens.path, reason: "holds \(tokens.tokenCount) tokens but \(info.path) scores \(info.rangeStart)..<\(info.rangeEnd)")
    }
    guard tokens.vocabulary.vocabularySize <= ARMarker.maxVocabularySize else {
      throw AnalysisError.tokenStoreMismatch(
        file: tokens.path, reason: "\(tokens.vocabulary.summary): AR marking takes vocabularies of up to \(ARMarker.maxVocabularySize) ids")
    }
    let length = info.rangeEnd - info.rangeStart
    let bounds = starts + [length]
    let maxWindow = zip(bounds, bounds.dropFirst()).map { $1 - $0 }.max() ?? 0
    let subsets = try DocumentSubsets(tokens)
    let layout = StrataLayout(
      subsets: subsets.names, distanceBuckets: .powersOfTwo(covering: UInt64(max(maxWindow, 1))),
      frequencyBuckets: options.bigrams == nil ? nil : options.frequencyBuckets)
    var stratifier = Stratifier(
      layout: layout, context: options.context, endOfText: tokens.vocabulary.endOfText, bigrams: options.bigrams,
      maxWindowLength: maxWindow)
    var totals = [StrataTotals](repeating: StrataTotals(layout: layout), count: losses.count)

    var tokenBuffer: [UInt32] = []
    var subsetBuffer: [UInt8] = []
    var cells: [UInt32] = []
    var w = 0
    while w < starts.count {
      // A chunk of whole windows [starts[w], starts[v]).
      var v = w + 1
      while v < starts.count && bounds[v] - bounds[w] < options.chunkTokens { v += 1 }
      let chunk = bounds[w]..<bounds[v]
      let localStarts = starts[w..<v].map { $0 - chunk.lowerBound }
      let n = chunk.count
      if tokenBuffer.count != n {
        tokenBuffer = [UInt32](repeating: 0, count: n)
        subsetBuffer = [UInt8](repeating: 0, count: n)
        cells = [UInt32](repeating: 0, count: n)
      }
      let storeRange = (info.rangeStart + chunk.lowerBound)..<(info.rangeStart + chunk.upperBound)
      try tokenBuffer.withUnsafeMutableBufferPointer { try tokens.readTokens(storeRange, into: $0) }
      subsetBuffer.withUnsafeMutableBufferPointer { subsets.fill(storeRange, into: $0) }
      tokenBuffer.withUnsafeBufferPointer { tokenBuffer in
        subsetBuffer.withUnsafeBufferPointer { subsetBuffer in
          cells.withUnsafeMutableBufferPointer { cells in
            stratifier.assign(tokens: tokenBuffer, windowStarts: localStarts, subsets: subsetBuffer, cells: cells)
          }
        }
      }
      for (r, source) in losses.enumerated() {
        let chunkLosses = try source.readLosses(chunk)
        guard chunkLosses.count == n else {
          throw AnalysisError.badWindows(file: source.info.path, reason: "read \(chunkLosses.count) losses for \(n) tokens")
        }
        let bad = cells.withUnsafeBufferPointer { cells in
          chunkLosses.withUnsafeBufferPointer { totals[r].add(cells: cells, losses: $0) }
        }
        if let bad { throw AnalysisError.nonFiniteLoss(file: source.info.path, index: chunk.lowerBound + bad) }
      }
      progress(chunk.upperBound)
      w = v
    }
    return GapAnalysisResult(runs: losses.map(\.info.run), totals: totals, context: options.context)
  }
}

/// The subset of every token, from a store's document offsets and subsets.
struct DocumentSubsets {
  let names: [String]
  private let offsets: [UInt64]
  private let subsets: [UInt8]

  init(_ tokens: any TokenSource) throws {
    offsets = try tokens.documentOffsets()
    subsets = try tokens.documentSubsets()
    let known = tokens.subsetNames
    guard offsets.count == subsets.count + 1 || (offsets.isEmpty && subsets.isEmpty) else {
      throw AnalysisError.tokenStoreMismatch(file: tokens.path, reason: "\(offsets.count) document offsets for \(subsets.count) documents")
    }
    if let bad = subsets.first(where: { Int($0) >= max(known.count, 1) }) {
      throw AnalysisError.tokenStoreMismatch(file: tokens.path, reason: "document subset index \(bad) but \(known.count) subsets")
    }
    names = known.isEmpty ? ["unknown"] : known
  }

  /// Writes the subset index of each token of `range` (store positions).
  func fill(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt8>) {
    guard !subsets.isEmpty else {
      buffer.update(repeating: 0)
      return
    }
    // The last document starting at or before range.lowerBound.
    var lo = 0
    var hi = subsets.count
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if Int(offsets[mid]) <= range.lowerBound { lo = mid } else { hi = mid }
    }
    var doc = lo
    func nextStart(_ doc: Int) -> Int { doc + 1 < offsets.count ? Int(offsets[doc + 1]) : Int.max }
    var next = nextStart(doc)
    for position in range {
      while position >= next && doc + 1 < subsets.count {
        doc += 1
        next = nextStart(doc)
      }
      buffer[position - range.lowerBound] = subsets[doc]
    }
  }
}
