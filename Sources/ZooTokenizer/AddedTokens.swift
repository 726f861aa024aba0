import Foundation

/// The added tokens of a `tokenizer.json` (`added_tokens`) that one pass splits out of a text,
/// found as `tokenizers` finds them: at the leftmost position where any matches, the longest.
struct AddedTokens: Sendable {
  /// Content bytes and id of each token, by first byte, longest first.
  private let byFirstByte: [[(bytes: [UInt8], id: UInt32)]]
  let isEmpty: Bool

  init(_ tokens: [(content: String, id: UInt32)]) {
    var table = [[(bytes: [UInt8], id: UInt32)]](repeating: [], count: 256)
    for t in tokens where !t.content.isEmpty {
      let bytes = Array(t.content.utf8)
      table[Int(bytes[0])].append((bytes, t.id))
    }
    byFirstByte = table.map { $0.sorted { $0.bytes.count > $1.bytes.count } }
    isEmpty = tokens.isEmpty
  }

  /// Calls `segment` with each stretch of `text` between tokens (never empty) and `token` with
  /// the id of each token, in order.
  @inline(__always)
  func split(
    _ text: UnsafeBufferPointer<UInt8>, segment: (UnsafeBufferPointer<UInt8>) -> Void, token: (UInt32) -> Void
  ) {
    if isEmpty {
      if !text.isEmpty { segment(text) }
      return
    }
    let n = text.count
    var from = 0
    var i = 0
    while i < n {
      var matched: (length: Int, id: UInt32)?
      for candidate in byFirstByte[Int(text[i])] where candidate.bytes.count <= n - i {
        if candidate.bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress!, text.baseAddress! + i, $0.count) == 0 }) {
          matched = (candidate.bytes.count, candidate.id)
          break
        }
      }
      guard let (length, id) = matched else {
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
