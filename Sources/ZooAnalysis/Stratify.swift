import Foundation

/// Assigns every token of a chunk of whole windows to its strata cell (``StrataLayout``): marks AR
/// hits with an ``ARMarker``, then buckets each hit's recall distance and, with bigram counts, its
/// bigram's training frequency. The window's first token goes to the unpredicted cell.
public struct Stratifier: Sendable {
  /// The cell layout.
  public let layout: StrataLayout
  private var marker: ARMarker
  private let bigrams: BigramCounts?
  private var codes: [UInt32] = []
  /// Distance bucket of every distance below its count (distances are shorter than windows).
  private var distanceBucket: [UInt16] = []

  /// A stratifier; `bigrams` must be given exactly when `layout` has frequency buckets.
  public init(
    layout: StrataLayout, context: ARContext, endOfText: UInt32, bigrams: BigramCounts?, maxWindowLength: Int = 2048
  ) {
    precondition((bigrams == nil) == (layout.frequencyBuckets == nil), "bigram counts and frequency buckets go together")
    self.layout = layout
    self.marker = ARMarker(context: context, endOfText: endOfText, maxWindowLength: maxWindowLength)
    self.bigrams = bigrams
    reserve(tokens: maxWindowLength)
  }

  private mutating func reserve(tokens: Int) {
    if codes.count < tokens { codes = [UInt32](repeating: 0, count: tokens) }
    if distanceBucket.count < tokens {
      distanceBucket = (0..<tokens).map { UInt16(layout.distanceBuckets.index(of: UInt64($0))) }
    }
  }

  /// Writes the cell of every token of `tokens` (consecutive windows starting at `windowStarts`,
  /// the first 0) into `cells`; `subsets[i]` is token `i`'s subset index.
  public mutating func assign(
    tokens: UnsafeBufferPointer<UInt32>, windowStarts: [Int], subsets: UnsafeBufferPointer<UInt8>,
    cells: UnsafeMutableBufferPointer<UInt32>
  ) {
    precondition(subsets.count == tokens.count && cells.count == tokens.count, "stratify: buffer sizes differ")
    reserve(tokens: tokens.count)
    let cellsPerSubset = UInt32(layout.cellsPerSubset)
    let frequencyCount = UInt32(layout.frequencyBucketCount)
    let bigrams = self.bigrams
    let frequencyBuckets = layout.frequencyBuckets
    codes.withUnsafeMutableBufferPointer { all in
      let codes = UnsafeMutableBufferPointer(rebasing: all[0..<tokens.count])
      marker.mark(tokens: tokens, windowStarts: windowStarts, codes: codes)
      distanceBucket.withUnsafeBufferPointer { distanceBucket in
        for t in 0..<tokens.count {
          let code = codes[t]
          let base = UInt32(subsets[t]) &* cellsPerSubset
          if code == 0 {
            cells[t] = base
            continue
          }
          var local = 1 &+ UInt32(distanceBucket[Int(code &- 1)]) &* frequencyCount
          if let bigrams, let frequencyBuckets {
            let count = bigrams.count(of: BigramCounts.key(tokens[t - 1], tokens[t]))
            local &+= UInt32(frequencyBuckets.index(of: count))
          }
          cells[t] = base &+ local
        }
      }
    }
    let unpredicted = UInt32(layout.unpredictedCell)
    for start in windowStarts where start < tokens.count { cells[start] = unpredicted }
  }
}

/// Token counts and summed losses per strata cell for one run: the data every table is a
/// group-by over.
public struct StrataTotals: Sendable, Equatable {
  /// The cell layout.
  public let layout: StrataLayout
  /// Tokens per cell.
  public private(set) var counts: [Int]
  /// Summed loss (nats) per cell; the unpredicted cell's stays 0 (its losses are NaN by contract).
  public private(set) var sums: [Double]

  /// Empty totals.
  public init(layout: StrataLayout) {
    self.layout = layout
    counts = [Int](repeating: 0, count: layout.cellCount)
    sums = [Double](repeating: 0, count: layout.cellCount)
  }

  /// Adds each token's loss to its cell. Returns the index of the first predicted token whose loss
  /// is NaN or infinite, or `nil` when all are finite.
  public mutating func add(cells: UnsafeBufferPointer<UInt32>, losses: UnsafeBufferPointer<Float>) -> Int? {
    precondition(cells.count == losses.count, "cells \(cells.count) != losses \(losses.count)")
    let before = sums
    counts.withUnsafeMutableBufferPointer { counts in
      sums.withUnsafeMutableBufferPointer { sums in
        for t in 0..<cells.count {
          let c = Int(cells[t])
          sums[c] += Double(losses[t])
          counts[c] += 1
        }
      }
    }
    let unpredicted = layout.unpredictedCell
    sums[unpredicted] = 0
    guard sums[..<unpredicted].contains(where: { !$0.isFinite }) else { return nil }
    sums = before
    return (0..<cells.count).first { Int(cells[$0]) != unpredicted && !losses[$0].isFinite }
  }

  /// Tokens and summed loss over the cells whose strata satisfy `include`.
  public func slice(where include: (Stratum) -> Bool) -> SliceTotals {
    var total = SliceTotals()
    for cell in 0..<layout.unpredictedCell {
      guard let stratum = layout.stratum(ofCell: cell), include(stratum) else { continue }
      total.tokens += counts[cell]
      total.lossSum += sums[cell]
    }
    return total
  }
}

/// Tokens and summed loss of one slice of one run.
public struct SliceTotals: Sendable, Equatable {
  /// Predicted tokens in the slice.
  public var tokens = 0
  /// Their summed cross-entropy in nats.
  public var lossSum = 0.0

  /// Totals with the given values.
  public init(tokens: Int = 0, lossSum: Double = 0) {
    self.tokens = tokens
    self.lossSum = lossSum
  }

  /// Mean cross-entropy in nats (NaN for an empty slice).
  public var meanLoss: Double { tokens == 0 ? .nan : lossSum / Double(tokens) }
  /// Perplexity `exp(meanLoss)` (NaN for an empty slice).
  public var perplexity: Double { exp(meanLoss) }
}
