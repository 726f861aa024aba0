import Foundation

/// The BPE vocabulary from a tiktoken ranks file, in the two forms encoding needs:
///
/// - `bytes → rank` (open addressing on ``byteHash(_:_:)``), to emit a whole piece that is
///   itself a token without merging;
/// - `(left, right) → rank of left+right`, for every pair of tokens whose concatenation is a
///   token. During byte-pair merging every part is a token, so this table answers exactly
///   the question tiktoken asks ("is the concatenation of these two parts ranked, and how
///   high?") with one integer probe instead of hashing bytes.
///
/// In tiktoken a token's rank is its id, so merged parts are already output ids.
struct RankTable: Sendable {
  /// Token byte strings, back to back; token `r` is `arena[offsets[r]..<offsets[r + 1]]`.
  let arena: [UInt8]
  let offsets: [Int32]
  /// Rank of each single byte.
  let byteRank: [Int32]
  private let byteSlots: [Int32]  // token id or -1
  private let byteSlotHashes: [UInt64]
  private let byteMask: Int
  private let pairKeys: [UInt64]  // (left << 32 | right), or .max when empty
  private let pairValues: [Int32]
  private let pairMask: Int

  var count: Int { offsets.count - 1 }

  /// Builds the tables from `ranks[r]` = bytes of token `r` (ranks 0..<n, each once).
  init(tokens: [[UInt8]]) {
    var arena: [UInt8] = []
    var offsets: [Int32] = [0]
    for t in tokens {
      arena += t
      offsets.append(Int32(arena.count))
    }
    self.arena = arena
    self.offsets = offsets

    var capacity = 1
    while capacity < tokens.count * 2 { capacity <<= 1 }
    var slots = [Int32](repeating: -1, count: capacity)
    var hashes = [UInt64](repeating: 0, count: capacity)
    let mask = capacity - 1
    var byteRank = [Int32](repeating: -1, count: 256)
    arena.withUnsafeBufferPointer { a in
      for r in 0..<tokens.count {
        let start = Int(offsets[r])
        let n = Int(offsets[r + 1]) - start
        if n == 1 { byteRank[Int(a[start])] = Int32(r) }
        let h = byteHash(a.baseAddress! + start, n)
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] >= 0 { i = (i + 1) & mask }
        slots[i] = Int32(r)
        hashes[i] = h
      }
    }
    self.byteSlots = slots
    self.byteSlotHashes = hashes
    self.byteMask = mask
    self.byteRank = byteRank

    // Every split of every token into two tokens.
    var pairs: [(UInt64, Int32)] = []
    for r in 0..<tokens.count where tokens[r].count >= 2 {
      let t = tokens[r]
      for s in 1..<t.count {
        guard let left = RankTable.lookup(t[0..<s], arena: arena, offsets: offsets, slots: slots, hashes: hashes, mask: mask),
          let right = RankTable.lookup(t[s...], arena: arena, offsets: offsets, slots: slots, hashes: hashes, mask: mask)
        else { continue }
        pairs.append((UInt64(UInt32(left)) << 32 | UInt64(UInt32(right)), Int32(r)))
      }
    }
    var pairCapacity = 1
    while pairCapacity < pairs.count * 2 { pairCapacity <<= 1 }
    var keys = [UInt64](repeating: .max, count: pairCapacity)
    var values = [Int32](repeating: -1, count: pairCapacity)
    let pairMask = pairCapacity - 1
    for (key, value) in pairs {
      var i = Int(truncatingIfNeeded: pairHash(key)) & pairMask
      while keys[i] != .max { i = (i + 1) & pairMask }
      keys[i] = key
      values[i] = value
    }
    self.pairKeys = keys
    self.pairValues = values
    self.pairMask = pairMask
  }

  private static func lookup(
    _ bytes: ArraySlice<UInt8>, arena: [UInt8], offsets: [Int32], slots: [Int32], hashes: [UInt64], mask: Int
  ) -> Int32? {
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

  /// The rank of the byte string `p[0..<n]`, if it is a token.
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

  /// The rank of the concatenation of tokens `left` and `right`, or `Int32.max` when it is
  /// not a token.
  @inline(__always)
  func pairRank(_ left: Int32, _ right: Int32) -> Int32 {
    let key = UInt64(UInt32(left)) << 32 | UInt64(UInt32(right))
    return pairKeys.withUnsafeBufferPointer { keys in
      var i = Int(truncatingIfNeeded: pairHash(key)) & pairMask
      while true {
        let k = keys[i]
        if k == key { return pairValues[i] }
        if k == .max { return .max }
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
    let table = RankTable(tokens: complete)
    guard !table.byteRank.contains(-1) else {
      throw TokenizerError.inconsistentRanks(path: path, reason: "not every single byte is a token")
    }
    return table
  }
}
