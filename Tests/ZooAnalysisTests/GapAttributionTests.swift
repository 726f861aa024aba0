import Foundation
import Testing
import ZooAnalysis

@Suite struct GapAttributionTests {
  // Zoology Table 1, 355M models (PPL on all tokens, AR hits, other tokens): docs/ANALYSIS.md,
  // "Worked check: the paper's 355M rows".
  static let attention = SliceCrossEntropy(perplexityAll: 9.44, ar: 1.98, other: 10.62)
  static let rows: [(name: String, slices: SliceCrossEntropy)] = [
    ("Long Conv", SliceCrossEntropy(perplexityAll: 13.13, ar: 13.27, other: 13.12)),
    ("Hyena", SliceCrossEntropy(perplexityAll: 10.38, ar: 4.81, other: 11.00)),
    ("H3", SliceCrossEntropy(perplexityAll: 10.07, ar: 3.83, other: 10.75)),
    ("RWKV", SliceCrossEntropy(perplexityAll: 9.79, ar: 3.82, other: 10.51)),
  ]

  @Test func paperRowsImplyAboutSevenPercentARHits() {
    // The same section: 0.0701 for attention, Hyena, RWKV; 0.0670 Long Conv; 0.0633 H3.
    let expected = ["Long Conv": 0.0670, "Hyena": 0.0701, "H3": 0.0633, "RWKV": 0.0701]
    #expect(abs(Self.attention.impliedARShare - 0.0701) < 0.0005)
    for row in Self.rows {
      let share = row.slices.impliedARShare
      #expect(abs(share - (expected[row.name] ?? 0)) < 0.0005, "\(row.name): implied f_AR \(share)")
    }
  }

  @Test func paperRowsGiveSeventySixPercentOfTheGapOnAverage() {
    // The same section, with f_AR = 0.0701: 0.404, 0.656, 0.716, 1.266; mean 0.760.
    let expected = ["Long Conv": 0.404, "Hyena": 0.656, "H3": 0.716, "RWKV": 1.266]
    var fractions: [Double] = []
    for row in Self.rows {
      let attribution = GapAttribution(arShare: 0.0701, baseline: Self.attention, candidate: row.slices)
      #expect(abs(attribution.explainedByAR - (expected[row.name] ?? 0)) < 0.002, "\(row.name): \(attribution.explainedByAR)")
      fractions.append(attribution.explainedByAR)
    }
    let mean = fractions.reduce(0, +) / Double(fractions.count)
    #expect(abs(mean - 0.760) < 0.002, "mean share of the gap \(mean)")
  }

  @Test func partsAddUpToTheGapWhenSlicesAreExact() {
    // Two models scored on 10 tokens, 3 of them AR hits.
    let isHit = [false, true, false, false, true, false, true, false, false, false]
    let a: [Double] = [3, 0.5, 2, 4, 0.2, 3, 0.1, 2.5, 3.5, 1]
    let m: [Double] = [3.2, 1.5, 2.1, 4, 1.2, 2.9, 0.9, 2.6, 3.5, 1.1]
    func slices(_ l: [Double]) -> SliceCrossEntropy {
      let ar = zip(l, isHit).filter(\.1).map(\.0)
      let other = zip(l, isHit).filter { !$0.1 }.map(\.0)
      return SliceCrossEntropy(
        all: l.reduce(0, +) / 10, ar: ar.reduce(0, +) / Double(ar.count), other: other.reduce(0, +) / Double(other.count))
    }
    let g = GapAttribution(arShare: 0.3, baseline: slices(a), candidate: slices(m))
    #expect(abs(g.arPart + g.otherPart - g.gap) < 1e-12)
    #expect(abs(g.gap - 0.32) < 1e-12)  // differences sum to 3.2 nats over 10 tokens
    #expect(abs(g.arPart - 0.28) < 1e-12)  // (1.0 + 1.0 + 0.8) / 10
    #expect(abs(g.explainedByAR - 0.875) < 1e-12)
  }
}
