import Foundation

/// A count-min sketch (Cormode & Muthukrishnan 2005) over packed bigram keys: `depth` rows of
/// `width` saturating `UInt32` counters. An estimate never undercounts, and with probability at
/// least `1 − δ` it overcounts by at most `ε · N`, where `N` is the total added, `ε = e / width` and
/// `δ = e^(−depth)`.
///
/// Each row hashes the key with its own salted SplitMix64 finalizer, a strong mixer standing in
/// for the pairwise-independent family of the proof.
public struct CountMinSketch: Sendable, Equatable {
  /// Counters per row (a power of two).
  public let width: Int
  /// Rows.
  public let depth: Int
  /// Row-major counters, `depth × width`.
  public private(set) var cells: [UInt32]
  private let widthShift: UInt64

  /// A sketch with the given shape (`width` a power of two).
  public init(width: Int, depth: Int, cells: [UInt32]? = nil) {
    precondition(width >= 2 && width & (width - 1) == 0, "sketch width \(width) must be a power of two")
    precondition(depth >= 1, "sketch depth must be positive")
    self.width = width
    self.depth = depth
    self.cells = cells ?? [UInt32](repeating: 0, count: width * depth)
    precondition(self.cells.count == width * depth, "sketch needs \(width * depth) cells")
    self.widthShift = UInt64(64 - width.trailingZeroBitCount)
  }

  /// The widest sketch whose counters fit in `budgetBytes`, with depth `⌈ln(1/δ)⌉`.
  public init(budgetBytes: Int, delta: Double) {
    let depth = max(1, Int(ceil(log(1 / delta))))
    var width = 2
    while width * 2 * depth * MemoryLayout<UInt32>.stride <= budgetBytes { width *= 2 }
    self.init(width: width, depth: depth)
  }

  /// The additive error factor `ε = e / width`: estimates exceed true counts by at most `ε · N`.
  public var epsilon: Double { exp(1.0) / Double(width) }
  /// The failure probability `δ = e^(−depth)` of the `ε · N` bound, per query.
  public var delta: Double { exp(-Double(depth)) }
  /// Bytes held by the counters.
  public var memoryBytes: Int { cells.count * MemoryLayout<UInt32>.stride }

  @inline(__always) private func column(_ key: UInt32, row: Int) -> Int {
    var z = UInt64(key) &+ UInt64(row + 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    z ^= z >> 31
    return Int(z >> widthShift)
  }

  /// Adds `amount` occurrences of `key`.
  public mutating func add(_ key: UInt32, _ amount: UInt32 = 1) {
    for row in 0..<depth {
      let i = row * width + column(key, row: row)
      let (sum, overflow) = cells[i].addingReportingOverflow(amount)
      cells[i] = overflow ? UInt32.max : sum
    }
  }

  /// The estimated count of `key` (the minimum over rows).
  public func estimate(_ key: UInt32) -> UInt64 {
    var best = UInt32.max
    for row in 0..<depth { best = min(best, cells[row * width + column(key, row: row)]) }
    return UInt64(best)
  }
}
