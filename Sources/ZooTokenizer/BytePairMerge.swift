/// Byte-pair merging of one piece, by rank: repeatedly merge the adjacent pair with the lowest
/// merge rank (the leftmost on ties), until no pair merges — tiktoken's `byte_pair_merge` and
/// `tokenizers`' `Word::merge_all` alike (``RankTable`` says which pairs merge). Parts are token
/// ids from the start (single bytes), so the result is the piece's ids.
enum BytePairMerge {
  /// Pieces up to this many bytes use the O(n·m) scan (cache-friendly, n small); longer ones
  /// use the heap so that pathological inputs (a 50 MB run of letters) stay O(n log n).
  static let heapThreshold = 96

  /// Appends the ids of `text` (valid UTF-8) to `out`: GPT-2's pre-tokenizer cuts it into pieces,
  /// a piece that is itself a token costs one hash probe, the others are merged.
  static func encodePieces(_ text: UnsafeBufferPointer<UInt8>, ranks: RankTable, into out: inout [UInt32]) {
    guard let base = text.baseAddress else { return }
    PreTokenizer.forEachPiece(text) { range in
      let start = base + range.lowerBound
      if let id = ranks.rank(of: start, count: range.count) {
        out.append(UInt32(bitPattern: id))
      } else {
        encode(UnsafeBufferPointer(start: start, count: range.count), ranks: ranks, into: &out)
      }
    }
  }

  /// Appends the ids of `piece` (which is not itself a token) to `out`.
  static func encode(_ piece: UnsafeBufferPointer<UInt8>, ranks: RankTable, into out: inout [UInt32]) {
    if piece.count <= heapThreshold {
      scan(piece, ranks: ranks, into: &out)
    } else {
      heap(piece, ranks: ranks, into: &out)
    }
  }

  /// O(n·m): keeps parts and the rank of each part with its right neighbour in arrays.
  static func scan(_ piece: UnsafeBufferPointer<UInt8>, ranks: RankTable, into out: inout [UInt32]) {
    let n = piece.count
    withUnsafeTemporaryAllocation(of: Int32.self, capacity: n) { partBuffer in
      withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n) { pairBuffer in
      let parts = partBuffer.baseAddress!
      let pairs = pairBuffer.baseAddress!  // rank << 32 | merged id: the minimum is the lowest rank
      for i in 0..<n { parts[i] = ranks.byteRank[Int(piece[i])] }
      for i in 0..<n - 1 { pairs[i] = ranks.pairRank(parts[i], parts[i + 1]) }
      var count = n
      while count > 1 {
        var best = RankTable.noMerge
        var at = -1
        for i in 0..<count - 1 where pairs[i] < best {
          best = pairs[i]
          at = i
        }
        if at < 0 { break }
        parts[at] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
        // Remove part at+1 and its pair entry.
        for i in (at + 1)..<(count - 1) { parts[i] = parts[i + 1] }
        for i in (at + 1)..<max(at + 1, count - 2) { pairs[i] = pairs[i + 1] }
        count -= 1
        if at + 1 < count { pairs[at] = ranks.pairRank(parts[at], parts[at + 1]) }
        if at > 0 { pairs[at - 1] = ranks.pairRank(parts[at - 1], parts[at]) }
      }
      for i in 0..<count { out.append(UInt32(bitPattern: parts[i])) }
      }
    }
  }

  /// O(n log n): parts in a doubly linked list over byte positions, candidate pairs in a
  /// min-heap of (rank, position). Entries made stale by earlier merges are skipped when
  /// popped; every live pair has an entry, so the popped valid entry is the lowest-ranked,
  /// leftmost pair, as in ``scan(_:ranks:into:)``.
  static func heap(_ piece: UnsafeBufferPointer<UInt8>, ranks: RankTable, into out: inout [UInt32]) {
    let n = piece.count
    var token = [Int32](repeating: 0, count: n)
    var next = [Int32](repeating: -1, count: n)
    var prev = [Int32](repeating: -1, count: n)
    var heap = MinHeap()
    for i in 0..<n {
      token[i] = ranks.byteRank[Int(piece[i])]
      next[i] = i + 1 < n ? Int32(i + 1) : -1
      prev[i] = Int32(i - 1)
    }
    /// Heap entry of the pair starting at `i`: merge rank << 32 | position.
    func entry(_ merge: UInt64, _ i: Int) -> UInt64 { merge & 0xFFFF_FFFF_0000_0000 | UInt64(i) }
    for i in 0..<n - 1 {
      let m = ranks.pairRank(token[i], token[i + 1])
      if m != RankTable.noMerge { heap.push(entry(m, i)) }
    }
    while let top = heap.pop() {
      let i = Int(truncatingIfNeeded: top & 0xFFFF_FFFF)
      let j = Int(next[i])
      // Stale if i was merged away (prev of its successor no longer points to it) or its pair changed.
      guard j >= 0, prev[j] == Int32(i) else { continue }
      let m = ranks.pairRank(token[i], token[j])
      guard m != RankTable.noMerge, entry(m, i) == top else { continue }
      token[i] = Int32(truncatingIfNeeded: m & 0xFFFF_FFFF)
      let k = Int(next[j])
      next[i] = Int32(k)
      if k >= 0 { prev[k] = Int32(i) }
      prev[j] = -2  // j is dead
      if k >= 0 {
        let right = ranks.pairRank(token[i], token[k])
        if right != RankTable.noMerge { heap.push(entry(right, i)) }
      }
      let p = Int(prev[i])
      if p >= 0 {
        let left = ranks.pairRank(token[p], token[i])
        if left != RankTable.noMerge { heap.push(entry(left, p)) }
      }
    }
    var i = 0
    while i >= 0 {
      out.append(UInt32(bitPattern: token[i]))
      i = Int(next[i])
    }
  }
}

/// A binary min-heap of packed (rank << 32 | position) keys.
struct MinHeap {
  private var items: [UInt64] = []

  mutating func push(_ x: UInt64) {
    items.append(x)
    var i = items.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      if items[parent] <= x { break }
      items[i] = items[parent]
      i = parent
    }
    items[i] = x
  }

  mutating func pop() -> UInt64? {
    guard let top = items.first else { return nil }
    let last = items.removeLast()
    if items.isEmpty { return top }
    var i = 0
    let n = items.count
    while true {
      var child = 2 * i + 1
      if child >= n { break }
      if child + 1 < n, items[child + 1] < items[child] { child += 1 }
      if items[child] >= last { break }
      items[i] = items[child]
      i = child
    }
    items[i] = last
    return top
  }
}
