/// Bigram frequencies of training token streams, under a memory budget.
///
/// Bigrams are packed as `prev << 16 | cur`, so ids must fit in 16 bits (``maxVocabularySize``:
/// GPT-2's and GPT-NeoX-20B's do; ``BigramCounting`` refuses stores with larger vocabularies). Counting starts **exact**,
/// in an open-addressing table of `UInt64` slots (`count << 32 | key`, 0 = empty, load ≤ 1/2, so
/// 16 bytes per distinct bigram at worst). When doubling the table would pass `budgetBytes`, the
/// counts move into a ``CountMinSketch`` that fills the budget and counting goes on there: its
/// estimates never undercount and overcount by at most `ε · N` with probability `1 − δ`.
/// ``isExact`` says which; the bigram file records it with `ε` and `δ`.
public struct BigramCounts: Sendable {
  /// Exact counts: open-addressing slots `count << 32 | key` (empty when counting moved to a sketch).
  public private(set) var slots: [UInt64]
  /// Distinct bigrams in `slots`.
  public private(set) var distinct = 0
  /// The sketch the counts moved to when the exact table outgrew the budget.
  public private(set) var sketch: CountMinSketch?
  /// The largest number of bytes the counts may hold.
  public let budgetBytes: Int
  /// Failure probability used if the counts fall back to a sketch.
  public let delta: Double
  /// Bigrams counted so far (`N`).
  public private(set) var total: UInt64 = 0

  /// Empty counts within `budgetBytes` (at least 1 KiB); `delta` is the sketch's failure
  /// probability should it be needed.
  public init(budgetBytes: Int, delta: Double = 0.01) {
    precondition(budgetBytes >= 1024, "bigram budget must be at least 1 KiB")
    self.budgetBytes = budgetBytes
    self.delta = delta
    var capacity = 1 << 16
    while capacity * MemoryLayout<UInt64>.stride > budgetBytes { capacity /= 2 }
    slots = [UInt64](repeating: 0, count: capacity)
  }

  /// Exact counts restored from `(key, count)` pairs.
  public init(entries: [(key: UInt32, count: UInt32)], total: UInt64, budgetBytes: Int) {
    var capacity = 16
    while capacity < 2 * (entries.count + 1) { capacity *= 2 }
    self.budgetBytes = max(budgetBytes, capacity * MemoryLayout<UInt64>.stride)
    self.delta = 0
    self.total = total
    slots = Self.rehash(entries.map { UInt64($0.count) << 32 | UInt64($0.key) }, capacity: capacity)
    distinct = entries.count
  }

  /// Approximate counts restored from a sketch.
  public init(sketch: CountMinSketch, total: UInt64) {
    self.budgetBytes = sketch.memoryBytes
    self.delta = sketch.delta
    self.total = total
    self.slots = []
    self.sketch = sketch
  }

  /// Ids must be below this to be counted.
  public static let maxVocabularySize = 1 << 16

  /// Packs a bigram of ids below ``maxVocabularySize`` into its 32-bit key.
  @inlinable public static func key(_ prev: UInt32, _ cur: UInt32) -> UInt32 {
    prev << 16 | cur
  }

  /// Whether the counts are exact (no sketch fallback happened).
  public var isExact: Bool { sketch == nil }

  /// Bytes held by the counting structure (table slots or sketch counters).
  public var memoryBytes: Int {
    sketch?.memoryBytes ?? slots.count * MemoryLayout<UInt64>.stride
  }

  @inline(__always) private static func home(_ key: UInt32, mask: Int) -> Int {
    Int(truncatingIfNeeded: (UInt64(key) &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
  }

  /// Counts the bigrams of `tokens`, the first one pairing with `previous` (the last token of the
  /// preceding chunk of the same stream) when given. With `acrossDocuments` false, a bigram whose
  /// first token is `endOfText` (spanning two documents) is skipped.
  public mutating func add(
    _ tokens: UnsafeBufferPointer<UInt32>, after previous: UInt32?, acrossDocuments: Bool = true, endOfText: UInt32 = 0
  ) {
    guard var prev = previous ?? tokens.first else { return }
    for cur in tokens[(previous == nil ? 1 : 0)...] {
      if acrossDocuments || prev != endOfText { add(key: Self.key(prev, cur)) }
      prev = cur
    }
  }

  /// Adds one occurrence of a packed bigram.
  public mutating func add(key: UInt32) {
    total += 1
    if sketch != nil {
      sketch?.add(key)
      return
    }
    let mask = slots.count - 1
    var h = Self.home(key, mask: mask)
    while true {
      let slot = slots[h]
      if slot == 0 {
        slots[h] = 1 << 32 | UInt64(key)
        distinct += 1
        if distinct * 2 > slots.count { grow() }
        return
      }
      if UInt32(truncatingIfNeeded: slot) == key {
        if slot >> 32 < UInt64(UInt32.max) { slots[h] = slot + (1 << 32) }
        return
      }
      h = (h + 1) & mask
    }
  }

  private mutating func grow() {
    let capacity = slots.count * 2
    guard capacity * MemoryLayout<UInt64>.stride > budgetBytes else {
      slots = Self.rehash(slots, capacity: capacity)
      return
    }
    var sketch = CountMinSketch(budgetBytes: budgetBytes, delta: delta)
    for slot in slots where slot != 0 {
      sketch.add(UInt32(truncatingIfNeeded: slot), UInt32(slot >> 32))
    }
    slots = []
    distinct = 0
    self.sketch = sketch
  }

  /// `slots` re-inserted into a table of `capacity` slots (a power of two).
  private static func rehash(_ slots: [UInt64], capacity: Int) -> [UInt64] {
    var table = [UInt64](repeating: 0, count: capacity)
    let mask = capacity - 1
    for slot in slots where slot != 0 {
      var h = home(UInt32(truncatingIfNeeded: slot), mask: mask)
      while table[h] != 0 { h = (h + 1) & mask }
      table[h] = slot
    }
    return table
  }

  /// The count of a packed bigram: exact, or the sketch's upper estimate.
  public func count(of key: UInt32) -> UInt64 {
    if let sketch { return sketch.estimate(key) }
    let mask = slots.count - 1
    var h = Self.home(key, mask: mask)
    while true {
      let slot = slots[h]
      if slot == 0 { return 0 }
      if UInt32(truncatingIfNeeded: slot) == key { return slot >> 32 }
      h = (h + 1) & mask
    }
  }

  /// The exact `(key, count)` pairs sorted by key, or `nil` for a sketch.
  public func sortedEntries() -> [(key: UInt32, count: UInt32)]? {
    guard sketch == nil else { return nil }
    return slots.filter { $0 != 0 }
      .map { (key: UInt32(truncatingIfNeeded: $0), count: UInt32($0 >> 32)) }
      .sorted { $0.key < $1.key }
  }
}
