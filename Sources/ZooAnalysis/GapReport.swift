import Foundation
import ZooSupport

/// The tables of a gap analysis: one summary row per run against the baseline (`gap.csv` and the
/// terminal table), AR perplexity by bigram frequency and by recall distance, and slices per subset.
///
/// Rows keep the runs' order, then bucket or subset-name order; floats use
/// `CSVTable.number(_:digits:)` with 8 significant digits.
public struct GapReport: Sendable {
  /// One run's slices and its gap to the baseline.
  public struct RunSummary: Sendable, Equatable {
    /// Run name.
    public var run: String
    /// Totals over all predicted tokens.
    public var all: SliceTotals
    /// Totals over AR hits.
    public var ar: SliceTotals
    /// Totals over other tokens.
    public var other: SliceTotals
    /// The gap to the baseline (`nil` for the baseline itself).
    public var attribution: GapAttribution?
    /// `PPL_m(All) − PPL_a(All)`, in perplexity points.
    public var gapPerplexity: Double

    /// `f_AR`, the share of predicted tokens that are AR hits.
    public var arShare: Double { all.tokens == 0 ? .nan : Double(ar.tokens) / Double(all.tokens) }
    /// Mean cross-entropies on the three slices.
    public var crossEntropy: SliceCrossEntropy {
      SliceCrossEntropy(all: all.meanLoss, ar: ar.meanLoss, other: other.meanLoss)
    }
  }

  /// The analysis reported on.
  public let result: GapAnalysisResult
  /// Index of the baseline run.
  public let baseline: Int
  /// One summary per run, in run order.
  public let summaries: [RunSummary]

  /// A report with `baseline` (a run name; the first run when `nil`) as reference.
  public init(result: GapAnalysisResult, baseline: String? = nil) throws {
    self.result = result
    if let baseline {
      guard let index = result.runs.firstIndex(of: baseline) else {
        throw AnalysisError.invalidRequest("baseline \(baseline) is not among the runs \(result.runs.joined(separator: ","))")
      }
      self.baseline = index
    } else {
      self.baseline = 0
    }
    let slices = result.totals.map { totals in
      (totals.slice { _ in true }, totals.slice { $0.isHit }, totals.slice { !$0.isHit })
    }
    let base = slices[self.baseline]
    let baseCE = SliceCrossEntropy(all: base.0.meanLoss, ar: base.1.meanLoss, other: base.2.meanLoss)
    let baseline = self.baseline
    summaries = slices.enumerated().map { r, s in
      var summary = RunSummary(
        run: result.runs[r], all: s.0, ar: s.1, other: s.2, attribution: nil,
        gapPerplexity: s.0.perplexity - base.0.perplexity)
      if r != baseline {
        summary.attribution = GapAttribution(arShare: summary.arShare, baseline: baseCE, candidate: summary.crossEntropy)
      }
      return summary
    }
  }

  private static func number(_ x: Double) -> String { CSVTable.number(x, digits: 8) }

  /// `gap.csv`: run, baseline, tokens, ar_share, ppl_all, ppl_ar, ppl_other, gap_explained_by_ar
  /// (empty for the baseline), then ar_tokens, ce_all, ce_ar, ce_other (nats), gap_nats, gap_ppl,
  /// gap_ar_nats, gap_other_nats, context.
  public func gapTable() -> CSVTable {
    var table = CSVTable(header: [
      "run", "baseline", "tokens", "ar_share", "ppl_all", "ppl_ar", "ppl_other", "gap_explained_by_ar",
      "ar_tokens", "ce_all", "ce_ar", "ce_other", "gap_nats", "gap_ppl", "gap_ar_nats", "gap_other_nats", "context",
    ])
    let n = Self.number
    for s in summaries {
      let a = s.attribution
      table.append([
        s.run, result.runs[baseline], String(s.all.tokens), n(s.arShare), n(s.all.perplexity), n(s.ar.perplexity),
        n(s.other.perplexity), a.map { n($0.explainedByAR) } ?? "", String(s.ar.tokens), n(s.all.meanLoss),
        n(s.ar.meanLoss), n(s.other.meanLoss), n(a?.gap ?? 0), n(s.gapPerplexity), n(a?.arPart ?? 0),
        n(a?.otherPart ?? 0), result.context.rawValue,
      ])
    }
    return table
  }

  /// `ar_by_frequency.csv`: run, bucket_lo, bucket_hi (`inf` for the last), tokens, ppl: AR hits
  /// by their bigram's training count. `nil` without bigram counts.
  public func frequencyTable() -> CSVTable? {
    guard let buckets = result.totals.first?.layout.frequencyBuckets else { return nil }
    return bucketTable(edges: ("bucket_lo", "bucket_hi"), buckets: { _ in buckets }, bucket: \.frequencyBucket)
  }

  /// `ar_by_distance.csv`: run, distance_lo, distance_hi (exclusive; `inf` for the last), tokens,
  /// ppl: AR hits by recall distance (tokens strictly between the two occurrences).
  public func distanceTable() -> CSVTable {
    bucketTable(edges: ("distance_lo", "distance_hi"), buckets: \.layout.distanceBuckets, bucket: \.distanceBucket)
  }

  /// run, the bucket's two edges (the upper exclusive, `inf` for the last), tokens, ppl: each run's
  /// AR hits in each of its `buckets`, a hit's bucket read by `bucket`.
  private func bucketTable(
    edges: (lower: String, upper: String), buckets: (StrataTotals) -> Buckets, bucket: KeyPath<Stratum, Int?>
  ) -> CSVTable {
    var table = CSVTable(header: ["run", edges.lower, edges.upper, "tokens", "ppl"])
    for (run, totals) in zip(result.runs, result.totals) {
      let buckets = buckets(totals)
      for b in 0..<buckets.count {
        let slice = totals.slice { $0[keyPath: bucket] == b }
        table.append([
          run, String(buckets.lowerEdge(b)), buckets.upperEdge(b).map(String.init) ?? "inf", String(slice.tokens),
          Self.number(slice.perplexity),
        ])
      }
    }
    return table
  }

  /// `by_subset.csv`: run, subset, tokens, ar_share, ppl_all, ppl_ar, ppl_other, for every subset
  /// with predicted tokens, subsets sorted by name.
  public func subsetTable() -> CSVTable {
    var table = CSVTable(header: ["run", "subset", "tokens", "ar_share", "ppl_all", "ppl_ar", "ppl_other"])
    for (run, totals) in zip(result.runs, result.totals) {
      let names = totals.layout.subsets
      for i in names.indices.sorted(by: { names[$0] < names[$1] }) {
        let all = totals.slice { $0.subset == i }
        guard all.tokens > 0 else { continue }
        let ar = totals.slice { $0.subset == i && $0.isHit }
        let other = totals.slice { $0.subset == i && !$0.isHit }
        table.append([
          run, names[i], String(all.tokens), Self.number(Double(ar.tokens) / Double(all.tokens)),
          Self.number(all.perplexity), Self.number(ar.perplexity), Self.number(other.perplexity),
        ])
      }
    }
    return table
  }

  /// The terminal summary: one row per run.
  public func textTable() -> TextTable {
    var table = TextTable(header: [
      "run", "tokens", "ar_%", "ppl_all", "ppl_ar", "ppl_other", "gap_nats", "gap_ppl", "ar_%_of_gap",
    ])
    func f(_ x: Double, _ digits: Int) -> String { x.isNaN ? "nan" : String(format: "%.\(digits)f", x) }
    for s in summaries {
      let a = s.attribution
      table.append([
        s.run, String(s.all.tokens), f(100 * s.arShare, 2), f(s.all.perplexity, 3), f(s.ar.perplexity, 3),
        f(s.other.perplexity, 3), a.map { f($0.gap, 4) } ?? "", a == nil ? "" : f(s.gapPerplexity, 3),
        a.map { f(100 * $0.explainedByAR, 1) } ?? "",
      ])
    }
    return table
  }

  /// Writes `gap.csv`, `ar_by_distance.csv`, `by_subset.csv` and, with bigram counts,
  /// `ar_by_frequency.csv` into `directory` (each atomically); returns the paths written.
  public func write(to directory: String) throws -> [String] {
    var files = [("gap.csv", gapTable()), ("ar_by_distance.csv", distanceTable()), ("by_subset.csv", subsetTable())]
    if let frequency = frequencyTable() { files.insert(("ar_by_frequency.csv", frequency), at: 1) }
    return try files.map { name, table in
      let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
      try table.write(to: path)
      return path
    }
  }
}
