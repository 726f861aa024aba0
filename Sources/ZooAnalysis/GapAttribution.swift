import Foundation

/// Mean cross-entropy (log perplexity, nats) of one model on the three slices of docs/ANALYSIS.md, "Slices".
public struct SliceCrossEntropy: Sendable, Equatable {
  /// Over all predicted tokens.
  public var all: Double
  /// Over AR hits.
  public var ar: Double
  /// Over other tokens.
  public var other: Double

  /// Slices from mean cross-entropies.
  public init(all: Double, ar: Double, other: Double) {
    self.all = all
    self.ar = ar
    self.other = other
  }

  /// Slices from perplexities (as the paper's tables give them).
  public init(perplexityAll: Double, ar: Double, other: Double) {
    self.init(all: log(perplexityAll), ar: log(ar), other: log(other))
  }

  /// The AR share `f_AR` that makes `all = f·ar + (1−f)·other` hold: `(other − all)/(other − ar)`.
  /// Useful to check a published row (docs/ANALYSIS.md, "Worked check: the paper's 355M rows").
  public var impliedARShare: Double { (other - all) / (other - ar) }
}

/// The perplexity gap between a model and the baseline over the same tokens, split into the part
/// on AR hits and the part on other tokens (docs/ANALYSIS.md, "Gap attribution"):
///
/// ```
/// gap        = CE_m − CE_a                       (all tokens)
/// arPart     = f_AR · (CE_m,AR − CE_a,AR)
/// otherPart  = (1 − f_AR) · (CE_m,Other − CE_a,Other)
/// explainedByAR = arPart / gap                   (may exceed 1 when m beats a on other tokens)
/// ```
/// With exact slices `arPart + otherPart == gap`.
public struct GapAttribution: Sendable, Equatable {
  /// `CE_m − CE_a` in nats.
  public var gap: Double
  /// The part of the gap on AR hits, in nats.
  public var arPart: Double
  /// The part of the gap on other tokens, in nats.
  public var otherPart: Double

  /// The gap of `candidate` over `baseline` when a share `arShare` of the tokens are AR hits.
  public init(arShare: Double, baseline: SliceCrossEntropy, candidate: SliceCrossEntropy) {
    gap = candidate.all - baseline.all
    arPart = arShare * (candidate.ar - baseline.ar)
    otherPart = (1 - arShare) * (candidate.other - baseline.other)
  }

  /// The share of the gap explained by AR hits, `arPart / gap` (NaN when the gap is 0).
  public var explainedByAR: Double { gap == 0 ? .nan : arPart / gap }
}
