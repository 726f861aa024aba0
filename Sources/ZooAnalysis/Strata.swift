/// The strata of a predicted token (docs/ANALYSIS.md, "Strata": every row carries its strata, and
/// tables are group-bys over them): its Pile subset, whether it is an AR hit, and for a hit the
/// bucket of its recall distance and the bucket of its bigram's training frequency.
public struct Stratum: Sendable, Equatable {
  /// Index into ``StrataLayout/subsets``.
  public var subset: Int
  /// Whether the token is an AR hit.
  public var isHit: Bool
  /// Recall-distance bucket (hits only).
  public var distanceBucket: Int?
  /// Training-frequency bucket of the bigram (hits only, and only with bigram counts).
  public var frequencyBucket: Int?
}

/// How strata map to flat cell indices: per subset, one "other tokens" cell followed by one cell
/// per (distance bucket, frequency bucket) for hits; one last cell collects tokens that were not
/// predicted (window starts), which every table ignores.
public struct StrataLayout: Sendable, Equatable {
  /// Subset names, indexed by the token store's `doc_subset` values.
  public let subsets: [String]
  /// Recall-distance buckets.
  public let distanceBuckets: Buckets
  /// Training-frequency buckets, or `nil` when no bigram counts are given.
  public let frequencyBuckets: Buckets?

  /// A layout; `subsets` must not be empty.
  public init(subsets: [String], distanceBuckets: Buckets, frequencyBuckets: Buckets?) {
    precondition(!subsets.isEmpty, "strata need at least one subset")
    self.subsets = subsets
    self.distanceBuckets = distanceBuckets
    self.frequencyBuckets = frequencyBuckets
  }

  /// Frequency buckets per distance bucket (1 without bigram counts).
  public var frequencyBucketCount: Int { frequencyBuckets?.count ?? 1 }
  /// Cells per subset.
  public var cellsPerSubset: Int { 1 + distanceBuckets.count * frequencyBucketCount }
  /// All cells, the unpredicted one included.
  public var cellCount: Int { subsets.count * cellsPerSubset + 1 }
  /// The cell of tokens that were not predicted.
  public var unpredictedCell: Int { cellCount - 1 }

  /// The cell of a predicted token that is not an AR hit.
  @inlinable public func otherCell(subset: Int) -> Int { subset * cellsPerSubset }

  /// The cell of an AR hit.
  @inlinable public func hitCell(subset: Int, distanceBucket: Int, frequencyBucket: Int) -> Int {
    subset * cellsPerSubset + 1 + distanceBucket * frequencyBucketCount + frequencyBucket
  }

  /// The strata of a cell, or `nil` for the unpredicted cell.
  public func stratum(ofCell cell: Int) -> Stratum? {
    guard cell < unpredictedCell else { return nil }
    let subset = cell / cellsPerSubset
    let local = cell % cellsPerSubset
    guard local > 0 else { return Stratum(subset: subset, isHit: false) }
    return Stratum(
      subset: subset, isHit: true, distanceBucket: (local - 1) / frequencyBucketCount,
      frequencyBucket: frequencyBuckets == nil ? nil : (local - 1) % frequencyBucketCount)
  }
}
