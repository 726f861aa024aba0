/// Half-open value buckets `[edges[i], edges[i+1])`, the last one open-ended (`[edges.last, ∞)`).
///
/// Used for the bigram training-frequency strata (powers of ten: `[0,1) [1,10) … [10⁶,∞)`) and the
/// recall-distance strata (powers of two: `[0,1) [1,2) [2,4) …`); docs/ANALYSIS.md, "Buckets".
public struct Buckets: Sendable, Equatable {
  /// Lower edges, strictly increasing; `edges[0]` is the smallest value bucketed.
  public let edges: [UInt64]

  /// Buckets with the given strictly increasing lower edges (at least one).
  public init(edges: [UInt64]) {
    precondition(!edges.isEmpty, "Buckets need at least one edge")
    precondition(zip(edges, edges.dropFirst()).allSatisfy { $0 < $1 }, "bucket edges must increase: \(edges)")
    self.edges = edges
  }

  /// `[0,1) [1,10) [10,100) … [10^maxExponent, ∞)`: the bigram-frequency buckets
  /// (docs/ANALYSIS.md, "Buckets").
  public static func powersOfTen(maxExponent: Int = 6) -> Buckets {
    var edges: [UInt64] = [0, 1]
    var edge: UInt64 = 1
    for _ in 0..<maxExponent {
      edge *= 10
      edges.append(edge)
    }
    return Buckets(edges: edges)
  }

  /// `[0,1) [1,2) [2,4) … [2^k, ∞)` with the smallest `k` such that `2^k > maxValue`, so every
  /// value up to `maxValue` lands in a closed bucket: the recall-distance buckets.
  public static func powersOfTwo(covering maxValue: UInt64) -> Buckets {
    var edges: [UInt64] = [0, 1]
    var edge: UInt64 = 1
    while edge <= maxValue {
      edge *= 2
      edges.append(edge)
    }
    return Buckets(edges: edges)
  }

  /// The number of buckets.
  public var count: Int { edges.count }

  /// The bucket holding `value`; values below `edges[0]` go to bucket 0.
  @inlinable public func index(of value: UInt64) -> Int {
    var i = edges.count - 1
    while i > 0 && value < edges[i] { i -= 1 }
    return i
  }

  /// The inclusive lower edge of bucket `i`.
  public func lowerEdge(_ i: Int) -> UInt64 { edges[i] }

  /// The exclusive upper edge of bucket `i`, or `nil` for the open-ended last bucket.
  public func upperEdge(_ i: Int) -> UInt64? { i + 1 < edges.count ? edges[i + 1] : nil }
}
