import Foundation

/// The added tokens of a `tokenizer.json` (`added_tokens`) that one pass splits out of a text,
/// found as `tokenizers` finds them: at the leftmost position where any matches, the longest.
///
/// A byte trie over the tokens' contents: the root's children by byte in a 256-entry table, the
/// other nodes' children as short edge lists. Most positions cost one table look-up; a match
/// walks at most the longest token's length (GPT-NeoX-20B: 24 spaces).
struct AddedTokens: Sendable {
  /// Child of the root for each byte, or -1.
  private let rootChild: [Int32]
  /// Node `n`'s edges are `edgeBytes[edgeStart[n]..<edgeStart[n + 1]]`, to `edgeNodes` alike.
  private let edgeStart: [Int32]
  private let edgeBytes: [UInt8]
  private let edgeNodes: [Int32]
  /// Id of the token ending at each node, or -1.
  private let tokenID: [Int64]
  let isEmpty: Bool

  init(_ tokens: [(content: String, id: UInt32)]) {
    // Build with dictionaries, then flatten. Node 0 is the root.
    var children: [[UInt8: Int32]] = [[:]]
    var ids: [Int64] = [-1]
    for t in tokens where !t.content.isEmpty {
      var node = 0
      for b in t.content.utf8 {
        if let next = children[node][b] {
          node = Int(next)
        } else {
          children.append([:])
          ids.append(-1)
          children[node][b] = Int32(children.count - 1)
          node = children.count - 1
        }
      }
      if ids[node] < 0 { ids[node] = Int64(t.id) }  // a content listed twice keeps its first id
    }
    var root = [Int32](repeating: -1, count: 256)
    for (b, n) in children[0] { root[Int(b)] = n }
    var starts: [Int32] = [0]
    var bytes: [UInt8] = []
    var nodes: [Int32] = []
    for c in children {
      for (b, n) in c.sorted(by: { $0.key < $1.key }) {
        bytes.append(b)
        nodes.append(n)
      }
      starts.append(Int32(bytes.count))
    }
    rootChild = root
    edgeStart = starts
    edgeBytes = bytes
    edgeNodes = nodes
    tokenID = ids
    isEmpty = children[0].isEmpty
  }

  /// The length and id of the longest token starting at `text[i]`, if any.
  @inline(__always)
  private func longestMatch(_ text: UnsafeBufferPointer<UInt8>, at i: Int) -> (length: Int, id: UInt32)? {
    var node = Int(rootChild[Int(text[i])])
    if node < 0 { return nil }
    var best: (Int, UInt32)?
    var j = i + 1
    while true {
      if tokenID[node] >= 0 { best = (j - i, UInt32(tokenID[node])) }
      guard j < text.count else { break }
      let b = text[j]
      var next = -1
      for e in Int(edgeStart[node])..<Int(edgeStart[node + 1]) where edgeBytes[e] == b {
        next = Int(edgeNodes[e])
        break
      }
      if next < 0 { break }
      node = next
      j += 1
    }
    return best
  }

  /// Calls `segment` with each stretch of `text` between tokens (never empty) and `token` with
  /// the id of each token, in order.
  @inline(__always)
  func split(
    _ text: UnsafeBufferPointer<UInt8>, segment: (UnsafeBufferPointer<UInt8>) -> Void, token: (UInt32) -> Void
  ) {
    let n = text.count
    if isEmpty {
      if n > 0 { segment(text) }
      return
    }
    var from = 0
    var i = 0
    while i < n {
      guard let (length, id) = longestMatch(text, at: i) else {
        i += 1
        continue
      }
      if i > from { segment(UnsafeBufferPointer(rebasing: text[from..<i])) }
      token(id)
      i += length
      from = i
    }
    if n > from { segment(UnsafeBufferPointer(rebasing: text[from..<n])) }
  }
}
