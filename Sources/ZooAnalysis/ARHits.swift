/// What the AR-hit search may look back over (docs/ANALYSIS.md, "AR hits").
public enum ARContext: String, Sendable, CaseIterable {
  /// The whole evaluation window, crossing document boundaries (the paper's default).
  case window
  /// The token's own document: the search restarts after every end-of-text id (the token
  /// store's `eot`).
  case document
}

/// Marks associative-recall hits in one window at a time, in one pass (docs/ANALYSIS.md, "AR hits"):
/// token `x[t]` (`t ≥ 2` inside the window) is a hit when the bigram `(x[t-1], x[t])` occurred
/// at `(x[j-1], x[j])` for some `1 ≤ j < t` of the same window (or document, with
/// ``ARContext/document``). The window's first token is never predicted and never a hit.
///
/// The **recall distance** of a hit is `t − j − 1`, with `j` the most recent earlier occurrence:
/// the number of tokens strictly between the two occurrences' second tokens (the earlier version
/// of the paper counts "4 tokens between instances"). Repeats at distance 0 are hits: in `a a a`
/// the third `a` repeats the bigram `(a, a)` that ended one step before.
///
/// Output is one `UInt32` **recall code** per token: `0` when the token is not a hit, otherwise
/// `distance + 1` (``ARMarker/distance(ofCode:)``). A compact code keeps the hot loop store-only.
///
/// Implementation: open addressing over packed bigrams `prev << 20 | cur` (ids below 2^20, see
/// ``maxVocabularySize``) with linear probing; each slot's tag is `generation << 40 | bigram`, so
/// one compare finds a match, and starting a window (or document) is one increment of the 24-bit
/// generation instead of a clear. The table holds
/// at least eight times the longest window (load ≤ 1/8: 12 bytes a slot, 192 KiB for 2048-token
/// windows, in L2). Probe loops are the cost, so a sparse table pays: `zoo-bench analyze` marks
/// 109M tokens/s at load ≤ 1/2, 157M at 1/4 and 181M at 1/8 (one core, release, haswell target).
///
/// - Complexity: O(L) per window of L tokens.
public struct ARMarker: Sendable {
  /// Per slot: `generation << 40 | bigram`; a slot whose generation is not the current one is empty.
  private var tags: [UInt64]
  /// Per slot: the position of the bigram's latest second token.
  private var positions: [UInt32]
  private var shift: UInt64
  private var generation: UInt64 = 0
  /// Where the search may look.
  public let context: ARContext
  /// The id that ends a document (the token store's `eot`), for ``ARContext/document``.
  public let endOfText: UInt32

  /// Ids must be below this (20 bits): larger vocabularies are refused where a store is opened.
  public static let maxVocabularySize = 1 << 20
  private static let maxGeneration: UInt64 = 1 << 24 - 1

  /// A marker for windows of up to `maxWindowLength` tokens (longer ones grow the table) whose
  /// documents end with `endOfText`.
  public init(context: ARContext, endOfText: UInt32, maxWindowLength: Int = 2048) {
    self.context = context
    self.endOfText = endOfText
    self.tags = []
    self.positions = []
    self.shift = 64
    reserve(windowLength: maxWindowLength)
  }

  /// The distance encoded by a nonzero recall code, or `nil` for code 0 (not a hit).
  @inlinable public static func distance(ofCode code: UInt32) -> UInt32? {
    code == 0 ? nil : code - 1
  }

  private mutating func reserve(windowLength: Int) {
    var capacity = 16
    while capacity < 8 * windowLength { capacity *= 2 }
    guard capacity > tags.count else { return }
    tags = [UInt64](repeating: 0, count: capacity)
    positions = [UInt32](repeating: 0, count: capacity)
    shift = UInt64(64 - capacity.trailingZeroBitCount)
    generation = 0
  }

  /// Starts a new search: every slot becomes empty.
  @inline(__always) private static func advance(_ generation: inout UInt64, tags: UnsafeMutableBufferPointer<UInt64>) {
    if generation == maxGeneration {
      tags.update(repeating: 0)
      generation = 0
    }
    generation += 1
  }

  /// Writes the recall code of every token of one window (`codes.count == window.count`).
  public mutating func mark(window: UnsafeBufferPointer<UInt32>, codes: UnsafeMutableBufferPointer<UInt32>) {
    precondition(codes.count == window.count, "codes \(codes.count) != window \(window.count)")
    precondition(window.count < Int(UInt32.max), "window of \(window.count) tokens is too long")
    guard window.count > 0 else { return }
    reserve(windowLength: window.count)
    let resetsAtEndOfText = context == .document
    let endOfText = self.endOfText
    let shift = self.shift
    let mask = tags.count - 1
    var generation = self.generation
    codes[0] = 0
    tags.withUnsafeMutableBufferPointer { tags in
      positions.withUnsafeMutableBufferPointer { positions in
        Self.advance(&generation, tags: tags)
        var current = generation << 40
        for t in 1..<window.count {
          let prev = window[t - 1]
          let cur = window[t]
          if resetsAtEndOfText && prev == endOfText {
            // t starts a document: its bigram spans the boundary; restart the search after it.
            Self.advance(&generation, tags: tags)
            current = generation << 40
            codes[t] = 0
            continue
          }
          let key = UInt64(prev) << 20 | UInt64(cur)
          let tag = current | key
          var h = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
          let position = UInt32(truncatingIfNeeded: t)
          while true {
            let slot = tags[h]
            if slot == tag {
              codes[t] = position &- positions[h]
              positions[h] = position
              break
            }
            if slot & 0xFFFF_FF00_0000_0000 != current {
              tags[h] = tag
              positions[h] = position
              codes[t] = 0
              break
            }
            h = (h + 1) & mask
          }
        }
      }
    }
    self.generation = generation
  }

  /// Recall codes of a whole token sequence split into consecutive windows starting at
  /// `windowStarts` (the first must be 0; the last window ends at `codes.count`).
  public mutating func mark(
    tokens: UnsafeBufferPointer<UInt32>, windowStarts: some Collection<Int>,
    codes: UnsafeMutableBufferPointer<UInt32>
  ) {
    precondition(codes.count == tokens.count, "codes \(codes.count) != tokens \(tokens.count)")
    var starts = Array(windowStarts)
    precondition(starts.first == 0 || tokens.isEmpty, "the first window must start at 0")
    starts.append(tokens.count)
    for w in 0..<(starts.count - 1) {
      let range = starts[w]..<starts[w + 1]
      precondition(range.lowerBound <= range.upperBound, "window starts must increase")
      mark(
        window: UnsafeBufferPointer(rebasing: tokens[range]),
        codes: UnsafeMutableBufferPointer(rebasing: codes[range]))
    }
  }
}

/// The recall distance of every token (`nil` = not an AR hit) for `tokens` split into windows
/// starting at `windowStarts` (first 0): the array form of ``ARMarker``.
public func arHits(tokens: [UInt32], windowStarts: [Int], context: ARContext = .window, endOfText: UInt32) -> [UInt32?] {
  var marker = ARMarker(context: context, endOfText: endOfText)
  var codes = [UInt32](repeating: 0, count: tokens.count)
  tokens.withUnsafeBufferPointer { tokens in
    codes.withUnsafeMutableBufferPointer { codes in
      marker.mark(tokens: tokens, windowStarts: windowStarts, codes: codes)
    }
  }
  return codes.map(ARMarker.distance(ofCode:))
}
