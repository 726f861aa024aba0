import Foundation

/// A BPE vocabulary in the three forms encoding needs:
///
/// - token bytes by id (`arena`, `offsets`), for decoding;
/// - `bytes → id` (open addressing on ``byteHash(_:_:)``), to emit a whole piece that is itself
///   a token without merging;
/// - `(left, right) → (merge rank, id of the merged token)`, packed as `rank << 32 | id`: the
///   pairs byte-pair merging may join, with the priority of each.
///
/// Two vocabularies fill it. A tiktoken ranks file ranks tokens, and any two tokens whose
/// concatenation is a token merge, with that token's rank as priority (``init(tiktoken:)``); a
/// Hugging Face BPE model lists its merges, and only those merge, with their list index as
/// priority (``init(tokens:merges:ignoreMerges:)``). In the first a rank is an id, so both halves
/// of a pair value are equal; in the second they differ.
struct RankTable: Sendable {
  /// Token byte strings, back to back; token `r` is `arena[offsets[r]..<offsets[r + 1]]` (empty
  /// for ids the vocabulary does not use).
  let arena: [UInt8]
  let offsets: [Int32]
  /// Id of each single byte (-1 when the byte is not a token).
  let byteRank: [Int32]
  private let byteSlots: [Int32]  // token id or -1
  private let byteSlotHashes: [UInt64]
  private let byteMask: Int
  private let pairKeys: [UInt64]  // (left << 32 | right), or .max when empty
  private let pairValues: [UInt64]  // (merge rank << 32 | merged id)
  private let pairMask: Int

  /// The no-merge answer of ``pairRank(_:_:)``.
  static let noMerge = UInt64.max

  var count: Int { offsets.count - 1 }

  /// tiktoken's vocabulary: `tokens[r]` = bytes of the token of rank (and id) `r`; every split
  /// of a token into two tokens is a merge of priority `r`, and every token may be emitted whole.
  init(tiktoken tokens: [[UInt8]]) {
    let (arena, offsets) = RankTable.pack(tokens)
    let index = ByteIndex(arena: arena, offsets: offsets, whole: { _ in true })
    var pairs: [(UInt64, UInt64)] = []
    for r in 0..<tokens.count where tokens[r].count >= 2 {
      let t = tokens[r]
      for s in 1..<t.count {
        guard let left = index.lookup(t[0..<s], arena: arena, offsets: offsets),
          let right = index.lookup(t[s...], arena: arena, offsets: offsets)
        else { continue }
        pairs.append((UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)), UInt64(r) << 32 | UInt64(r)))
      }
    }
    self.init(arena: arena, offsets: offsets, index: index, pairs: pairs)
  }

  /// A Hugging Face BPE model: `tokens[id]` = bytes of token `id` (nil for ids it does not use)
  /// and `merges[i]` = the ids joined by merge `i` (the lower `i`, the earlier it applies; the
  /// merged bytes must be a token). A token is emitted whole, without merging, only where merging
  /// its bytes gives that token back (all tokens with `ignoreMerges`, as `tokenizers` does).
  init(tokens: [[UInt8]?], merges: [(left: Int32, right: Int32, merged: Int32)], ignoreMerges: Bool) {
    let (arena, offsets) = RankTable.pack(tokens.map { $0 ?? [] })
    var pairs: [(UInt64, UInt64)] = []
    pairs.reserveCapacity(merges.count)
    for (i, m) in merges.enumerated() {
      pairs.append((UInt64(UInt32(m.left)) << 32 | UInt64(UInt32(m.right)), UInt64(i) << 32 | UInt64(UInt32(m.merged))))
    }
    let mergesOnly = RankTable(
      arena: arena, offsets: offsets, index: ByteIndex(arena: arena, offsets: offsets, whole: { _ in false }),
      pairs: pairs)
    let whole: (Int) -> Bool = { id in
      guard let t = tokens[id], !t.isEmpty else { return false }
      if ignoreMerges || t.count == 1 { return true }
      var out: [UInt32] = []
      t.withUnsafeBufferPointer { BytePairMerge.encode($0, ranks: mergesOnly, into: &out) }
      return out == [UInt32(id)]
    }
    self.init(arena: arena, offsets: offsets, index: ByteIndex(arena: arena, offsets: offsets, whole: whole), pairs: pairs)
  }

  private init(arena: [UInt8], offsets: [Int32], index: ByteIndex, pairs: [(UInt64, UInt64)]) {
    self.arena = arena
    self.offsets = offsets
    var byteRank = [Int32](repeating: -1, count: 256)
    for r in 0..<(offsets.count - 1) where offsets[r + 1] - offsets[r] == 1 {
      if byteRank[Int(arena[Int(offsets[r])])] < 0 { byteRank[Int(arena[Int(offsets[r])])] = Int32(r) }
    }
    self.byteRank = byteRank
    self.byteSlots = index.slots
    self.byteSlotHashes = index.hashes
    self.byteMask = index.mask

    var pairCapacity = 1
    while pairCapacity < pairs.count * 2 { pairCapacity <<= 1 }
    var keys = [UInt64](repeating: .max, count: pairCapacity)
    var values = [UInt64](repeating: RankTable.noMerge, count: pairCapacity)
    let pairMask = pairCapacity - 1
    for (key, value) in pairs {
      var i = Int(truncatingIfNeeded: pairHash(key)) & pairMask
      while keys[i] != .max && keys[i] != key { i = (i + 1) & pairMask }
      keys[i] = key  // a pair listed twice keeps its last value, as in `tokenizers`
      values[i] = value
    }
    self.pairKeys = keys
    self.pairValues = values
    self.pairMask = pairMask
  }

  private static func pack(_ tokens: [[UInt8]]) -> (arena: [UInt8], offsets: [Int32]) {
    var arena: [UInt8] = []
    var offsets: [Int32] = [0]
    for t in tokens {
      arena += t
      offsets.append(Int32(arena.count))
    }
    return (arena, offsets)
  }

  /// The open-addressing table of the tokens that may be emitted whole.
  private struct ByteIndex {
    var slots: [Int32]
    var hashes: [UInt64]
    var mask: Int

    init(arena: [UInt8], offsets: [Int32], whole: (Int) -> Bool) {
      let n = offsets.count - 1
      var capacity = 1
      while capacity < n * 2 { capacity <<= 1 }
      slots = [Int32](repeating: -1, count: capacity)
      hashes = [UInt64](repeating: 0, count: capacity)
      mask = capacity - 1
      arena.withUnsafeBufferPointer { a in
        for r in 0..<n where offsets[r + 1] > offsets[r] && whole(r) {
          let start = Int(offsets[r])
          let h = byteHash(a.baseAddress! + start, Int(offsets[r + 1]) - start)
          var i = Int(truncatingIfNeeded: h) & mask
          while slots[i] >= 0 { i = (i + 1) & mask }
          slots[i] = Int32(r)
          hashes[i] = h
        }
      }
    }

    func lookup(_ bytes: ArraySlice<UInt8>, arena: [UInt8], offsets: [Int32]) -> Int32? {
      bytes.withUnsafeBufferPointer { b in
        arena.withUnsafeBufferPointer { a in
          let h = byteHash(b.baseAddress!, b.count)
          var i = Int(truncatingIfNeeded: h) & mask
          while slots[i] >= 0 {
            let r = Int(slots[i])
            if hashes[i] == h, Int(offsets[r + 1] - offsets[r]) == b.count,
              memcmp(a.baseAddress! + Int(offsets[r]), b.baseAddress!, b.count) == 0
            {
              return Int32(r)
            }
            i = (i + 1) & mask
          }
          return nil
        }
      }
    }
  }

  /// The id of the byte string `p[0..<n]`, if it is a token that may be emitted whole.
  @inline(__always)
  func rank(of p: UnsafePointer<UInt8>, count n: Int) -> Int32? {
    let h = byteHash(p, n)
    return byteSlots.withUnsafeBufferPointer { slots in
      byteSlotHashes.withUnsafeBufferPointer { hashes in
        offsets.withUnsafeBufferPointer { offsets in
          arena.withUnsafeBufferPointer { arena in
            var i = Int(truncatingIfNeeded: h) & byteMask
            while true {
              let r = Int(slots[i])
              if r < 0 { return nil }
              if hashes[i] == h, Int(offsets[r + 1] - offsets[r]) == n,
                memcmp(arena.baseAddress! + Int(offsets[r]), p, n) == 0
              {
                return Int32(r)
              }
              i = (i + 1) & byteMask
            }
          }
        }
      }
    }
  }

  /// The merge of tokens `left` and `right` as `rank << 32 | merged id`, or ``noMerge`` when
  /// they do not merge.
  @inline(__always)
  func pairRank(_ left: Int32, _ right: Int32) -> UInt64 {
    let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    return pairKeys.withUnsafeBufferPointer { keys in
      var i = Int(truncatingIfNeeded: pairHash(key)) & pairMask
      while true {
        let k = keys[i]
        if k == key { return pairValues[i] }
        if k == .max { return RankTable.noMerge }
        i = (i + 1) & pairMask
      }
    }
  }

  /// Parses a tiktoken ranks file: one `base64(token bytes) rank` per line, ranks 0..<n each
  /// once, every single byte a token.
  static func load(path: String) throws -> RankTable {
    guard let data = FileManager.default.contents(atPath: path) else { throw TokenizerError.unreadable(path: path) }
    var tokens: [[UInt8]?] = []
    var lineNumber = 0
    for line in data.split(separator: 0x0A) {
      lineNumber += 1
      if line.isEmpty { continue }
      let fields = line.split(separator: 0x20)
      guard fields.count == 2, let bytes = Data(base64Encoded: Data(fields[0])),
        let rank = Int(String(decoding: fields[1], as: UTF8.self)), rank >= 0, rank < 1 << 20
      else { throw TokenizerError.malformedLine(path: path, line: lineNumber) }
      if rank >= tokens.count { tokens += [[UInt8]?](repeating: nil, count: rank + 1 - tokens.count) }
      guard tokens[rank] == nil else {
        throw TokenizerError.inconsistentRanks(path: path, reason: "rank \(rank) appears twice")
      }
      tokens[rank] = Array(bytes)
    }
    if let missing = tokens.firstIndex(where: { $0 == nil }) {
      throw TokenizerError.inconsistentRanks(path: path, reason: "rank \(missing) is missing")
    }
    let complete = tokens.compactMap { $0 }
    guard Set(complete).count == complete.count else {
      throw TokenizerError.inconsistentRanks(path: path, reason: "two ranks have the same bytes")
    }
    let table = RankTable(tiktoken: complete)
    guard !table.byteRank.contains(-1) else {
      throw TokenizerError.inconsistentRanks(path: path, reason: "not every single byte is a token")
    }
    return table
  }
}
