import Foundation
import Testing
import ZooAnalysis
import ZooSupport

@Suite struct GapAnalysisTests {
  func field(_ table: CSVTable, row: Int, _ column: String) throws -> String {
    let c = try #require(table.header.firstIndex(of: column), "no column \(column)")
    return table.rows[row][c]
  }

  func value(_ table: CSVTable, row: Int, _ column: String) throws -> Double {
    try #require(Double(try field(table, row: row, column)), "\(column) of row \(row) is not a number")
  }

  @Test func gapTableMatchesHandComputedValues() throws {
    let result = try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, HandExample.conv])
    let table = try GapReport(result: result).gapTable()
    #expect(Array(table.header.prefix(8)) == [
      "run", "baseline", "tokens", "ar_share", "ppl_all", "ppl_ar", "ppl_other", "gap_explained_by_ar",
    ])
    #expect(table.rows.map { $0[0] } == ["attn", "conv"])
    #expect(table.rows.map { $0[1] } == ["attn", "attn"])
    #expect(try field(table, row: 0, "tokens") == "10")
    #expect(try field(table, row: 0, "ar_tokens") == "2")
    #expect(try field(table, row: 0, "gap_explained_by_ar") == "")
    let expected: [(Int, String, Double)] = [
      (0, "ar_share", 0.2), (0, "ppl_all", exp(1.8)), (0, "ppl_ar", exp(1.0)), (0, "ppl_other", exp(2.0)),
      (1, "ppl_all", exp(2.25)), (1, "ppl_ar", exp(2.5)), (1, "ppl_other", exp(2.1875)),
      (1, "gap_nats", 0.45), (1, "gap_ar_nats", 0.3), (1, "gap_other_nats", 0.15),
      (1, "gap_explained_by_ar", 2.0 / 3.0), (1, "gap_ppl", exp(2.25) - exp(1.8)),
    ]
    for (row, column, want) in expected {
      let got = try value(table, row: row, column)
      #expect(abs(got - want) <= 1e-7 * max(1, abs(want)), "\(column) of row \(row): \(got) != \(want)")
    }
  }

  @Test func distanceAndSubsetTablesMatchHandCount() throws {
    let result = try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, HandExample.conv])
    let report = try GapReport(result: result, baseline: "attn")
    let distance = report.distanceTable()
    // Distance buckets [0,1) [1,2) [2,4) [4,8) [8,inf) per run; hits at distance 1 and 2.
    #expect(distance.rows.count == 10)
    #expect(distance.rows[0...4].map { $0[1] + "-" + $0[2] + ":" + $0[3] } == ["0-1:0", "1-2:1", "2-4:1", "4-8:0", "8-inf:0"])
    #expect(distance.rows[0][4] == "nan")
    #expect(try value(distance, row: 1, "ppl") == CSVTableNumber.of(exp(0.5)))
    #expect(try value(distance, row: 7, "ppl") == CSVTableNumber.of(exp(2.5)))
    let subsets = report.subsetTable()
    // Sorted by name: `code, "x"` (positions 5..11: 6 predicted, 1 hit) before wiki (1..4: 4, 1 hit).
    #expect(subsets.rows.map { $0[1] } == ["code, \"x\"", "wiki", "code, \"x\"", "wiki"])
    #expect(subsets.rows.map { $0[2] } == ["6", "4", "6", "4"])
    #expect(try value(subsets, row: 1, "ppl_ar") == CSVTableNumber.of(exp(0.5)))
    #expect(report.frequencyTable() == nil)
  }

  @Test func csvEscapesSubsetNamesAndParsesBack() throws {
    let result = try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn])
    let text = try GapReport(result: result).subsetTable().render()
    #expect(text.contains("attn,\"code, \"\"x\"\"\",6,"))
    let rows = CSVTable.parse(text)
    #expect(rows.count == 3)
    #expect(rows[1][1] == "code, \"x\"")
    #expect(rows.allSatisfy { $0.count == 7 })
  }

  @Test func resultsDoNotDependOnChunking() throws {
    let whole = try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, HandExample.conv])
    let small = try GapAnalysis.run(
      tokens: HandExample.store, losses: [HandExample.attn, HandExample.conv], options: GapAnalysisOptions(chunkTokens: 1))
    #expect(whole.totals == small.totals)
  }

  @Test func frequencyTableBucketsHitsByTrainingCount() throws {
    var bigrams = BigramCounts(budgetBytes: 1 << 16)
    for _ in 0..<15 { bigrams.add(key: BigramCounts.key(1, 2)) }
    let result = try GapAnalysis.run(
      tokens: HandExample.store, losses: [HandExample.attn], options: GapAnalysisOptions(bigrams: bigrams))
    let table = try #require(try GapReport(result: result).frequencyTable())
    // Both hits are (1, 2), seen 15 times: bucket [10, 100).
    #expect(table.rows.map { "\($0[1])-\($0[2]):\($0[3])" } == [
      "0-1:0", "1-10:0", "10-100:2", "100-1000:0", "1000-10000:0", "10000-100000:0", "100000-1000000:0",
      "1000000-inf:0",
    ])
    #expect(try value(table, row: 2, "ppl") == CSVTableNumber.of(exp(1.0)))
  }

  @Test func runsOverDifferentWindowsAreRejected() throws {
    var other = HandExample.conv
    other.starts = [0, 5]
    #expect(throws: AnalysisError.runsDiffer(file: "conv.h5", reference: "attn.h5", reason: "window starts differ")) {
      try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, other])
    }
    let shifted = ArrayLossSource(run: "late", losses: HandExample.conv.losses, starts: HandExample.starts, rangeStart: 1)
    #expect(throws: AnalysisError.self) { try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, shifted]) }
    let otherStore = ArrayLossSource(run: "x", losses: HandExample.conv.losses, starts: HandExample.starts, store: "b.h5")
    #expect(throws: AnalysisError.self) { try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn, otherStore]) }
  }

  @Test func badWindowsAndLossesAreReported() throws {
    var late = HandExample.attn
    late.starts = [1, 6]
    #expect(throws: AnalysisError.badWindows(file: "attn.h5", reason: "the first window starts at 1, not 0")) {
      try GapAnalysis.run(tokens: HandExample.store, losses: [late])
    }
    var nan = HandExample.attn
    nan.losses[9] = .nan
    #expect(throws: AnalysisError.nonFiniteLoss(file: "attn.h5", index: 9)) {
      try GapAnalysis.run(tokens: HandExample.store, losses: [nan])
    }
    let beyond = ArrayLossSource(run: "b", losses: HandExample.attn.losses, starts: HandExample.starts, rangeStart: 4)
    #expect(throws: AnalysisError.self) { try GapAnalysis.run(tokens: HandExample.store, losses: [beyond]) }
    let result = try GapAnalysis.run(tokens: HandExample.store, losses: [HandExample.attn])
    #expect(throws: AnalysisError.self) { try GapReport(result: result, baseline: "hyena") }
  }

  @Test func errorMessagesNameTheFile() {
    let message = AnalysisError.nonFiniteLoss(file: "runs/a/losses.h5", index: 9).description
    #expect(message == "runs/a/losses.h5: loss at index 9 is not finite")
    #expect(!message.contains("\n"))
  }
}

/// The value a number takes after a round trip through `CSVTable.number`.
enum CSVTableNumber {
  static func of(_ x: Double) -> Double { Double(CSVTable.number(x, digits: 8)) ?? .nan }
}
