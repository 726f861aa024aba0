import Foundation

/// Splits a byte stream into lines (without their `\n`), carrying a partial line across
/// blocks. Reports each line's 1-based number and the byte offset of its start in the stream.
public struct LineSplitter {
  private var pending: [UInt8] = []
  private var lineNumber = 0
  private var offset = 0  // stream offset of the next unread byte

  /// An empty splitter.
  public init() {}

  /// Feeds one block; calls `onLine` for every line it completes.
  public mutating func feed(
    _ block: UnsafeRawBufferPointer, _ onLine: (UnsafeRawBufferPointer, _ lineNumber: Int, _ byteOffset: Int) throws -> Void
  ) rethrows {
    guard let base = block.baseAddress, block.count > 0 else { return }
    var start = 0
    while start < block.count {
      guard let hit = memchr(base + start, 0x0A, block.count - start) else {
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[start...]))
        break
      }
      let end = base.distance(to: UnsafeRawPointer(hit))
      lineNumber += 1
      if pending.isEmpty {
        try onLine(UnsafeRawBufferPointer(rebasing: block[start..<end]), lineNumber, offset + start)
      } else {
        let lineStart = offset + start - pending.count
        pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[start..<end]))
        try pending.withUnsafeBytes { try onLine($0, lineNumber, lineStart) }
        pending.removeAll(keepingCapacity: pending.count < 1 << 20)
      }
      start = end + 1
    }
    offset += block.count
  }

  /// Ends the stream: reports a last line that had no trailing `\n`.
  public mutating func finish(_ onLine: (UnsafeRawBufferPointer, _ lineNumber: Int, _ byteOffset: Int) throws -> Void) rethrows {
    guard !pending.isEmpty else { return }
    lineNumber += 1
    let lineStart = offset - pending.count
    try pending.withUnsafeBytes { try onLine($0, lineNumber, lineStart) }
    pending.removeAll()
  }
}
