import CZstd
import Foundation
import Testing

@testable import ZooStorage

@Suite struct ZstdTests {
  private func decompress(_ path: String) throws -> [UInt8] {
    var out: [UInt8] = []
    try ZstdFileReader(path: path).forEachBlock { out.append(contentsOf: $0) }
    return out
  }

  @Test(arguments: [(true, false), (false, false), (true, true), (false, true)])
  func multiFrameRoundTrip(contentSize: Bool, checksum: Bool) throws {
    let dir = try TempDir()
    let parts = (0..<4).map { textLikeBytes(100_000 + $0 * 7_777, seed: UInt64($0)) }
    let compressed = parts.flatMap { Zstd.compress($0, contentSize: contentSize, checksum: checksum) }
    let frame = Zstd.compress(parts[0], contentSize: contentSize)
    var size: UInt64 = 0
    frame.withUnsafeBytes { size = ZSTD_getFrameContentSize($0.baseAddress, $0.count) }
    #expect((size == ZSTD_CONTENTSIZE_UNKNOWN) == !contentSize, "content-size flag honoured")
    let path = try dir.write("m.zst", compressed)
    #expect(try decompress(path) == parts.flatMap { $0 })
    let reader = try ZstdFileReader(path: path)
    try reader.forEachBlock { _ in }
    #expect(reader.compressedBytesRead == compressed.count)
  }

  @Test func truncatedStreamIsAnError() throws {
    let dir = try TempDir()
    let compressed = Zstd.compress(textLikeBytes(300_000, seed: 1)) + Zstd.compress(textLikeBytes(1000, seed: 2))
    for cut in [1, 10, compressed.count / 2] {
      let path = try dir.write("t\(cut).zst", Array(compressed.dropLast(cut)))
      #expect {
        try decompress(path)
      } throws: { error in
        guard case ZstdError.truncated(let p, _) = error else { return false }
        return p == path
      }
    }
  }

  @Test func notZstdEmptyAndCorrupt() throws {
    let dir = try TempDir()
    let plain = try dir.write("plain.zst", Array("{\"text\": \"hello\"}\n".utf8))
    #expect("\(try #require(throws: ZstdError.self) { try decompress(plain) })".contains("plain.zst: corrupt zstd data"))
    let empty = try dir.write("empty.zst", [])
    #expect(throws: ZstdError.empty(path: empty)) { try ZstdFileReader(path: empty) }
    #expect(throws: ZstdError.self) { try ZstdFileReader(path: dir.path + "/missing.zst") }
    var bytes = Zstd.compress(textLikeBytes(200_000, seed: 3), checksum: true)
    bytes[bytes.count / 2] ^= 0x5A
    let corrupt = try dir.write("corrupt.zst", bytes)
    #expect(throws: ZstdError.self) { try decompress(corrupt) }
  }

  /// The reader's memory does not grow with the stream: blocks are at most one output buffer,
  /// and the resident set after 40 MB (ZOO_SLOW_TESTS: 400 MB) stays within a few MB. The resident
  /// set is the whole process's, so the measurement runs in a child test process of its own,
  /// where no other test allocates at the same time.
  @Test func boundedMemory() throws {
    if ProcessInfo.processInfo.environment["ZOO_MEASURE_MEMORY"] == nil {
      let child = Process()
      child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
      child.arguments = ["--testing-library", "swift-testing", "--filter", "ZstdTests/boundedMemory"]
      child.environment = ProcessInfo.processInfo.environment.merging(["ZOO_MEASURE_MEMORY": "1"]) { $1 }
      let pipe = Pipe()
      child.standardOutput = pipe
      child.standardError = pipe
      try child.run()
      let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      child.waitUntilExit()
      #expect(child.terminationStatus == 0 && output.contains("boundedMemory() passed"), "\(output.suffix(2000))")
      return
    }
    let dir = try TempDir()
    let frames = ProcessInfo.processInfo.environment["ZOO_SLOW_TESTS"] != nil ? 400 : 40
    let frame = Zstd.compress(textLikeBytes(1 << 20, seed: 9))
    let handle = try #require(FileHandle(forWritingAtPath: try dir.write("big.zst", [])))
    for _ in 0..<frames { handle.write(Data(frame)) }
    try handle.close()
    let reader = try ZstdFileReader(path: dir.path + "/big.zst")
    var total = 0
    var largest = 0
    let before = residentBytes()
    var peak = before
    try reader.forEachBlock { block in
      total += block.count
      largest = max(largest, block.count)
      if total % (8 << 20) < block.count { peak = max(peak, residentBytes()) }
    }
    #expect(total == frames << 20)
    #expect(largest <= ZSTD_DStreamOutSize())
    #expect(peak - before < 16 << 20, "resident set grew by \(peak - before) bytes")
  }
}

@Suite struct LineSplitterTests {
  @Test func linesAcrossEveryBlockBoundary() {
    let text = Array("first\n\nthird line\r\nlast without newline".utf8)
    let expected: [(String, Int, Int)] = [("first", 1, 0), ("", 2, 6), ("third line\r", 3, 7), ("last without newline", 4, 19)]
    for blockSize in 1...text.count {
      var splitter = LineSplitter()
      var lines: [(String, Int, Int)] = []
      let collect: (UnsafeRawBufferPointer, Int, Int) -> Void = { lines.append((String(decoding: $0, as: UTF8.self), $1, $2)) }
      var i = 0
      while i < text.count {
        let j = min(text.count, i + blockSize)
        text[i..<j].withUnsafeBytes { splitter.feed($0, collect) }
        i = j
      }
      splitter.finish(collect)
      #expect(lines.count == expected.count, "block size \(blockSize)")
      for (got, want) in zip(lines, expected) {
        #expect(got.0 == want.0 && got.1 == want.1 && got.2 == want.2, "block size \(blockSize): \(got) vs \(want)")
      }
    }
  }

  @Test func trailingNewlineGivesNoEmptyLastLine() {
    var splitter = LineSplitter()
    var count = 0
    Array("a\nb\n".utf8).withUnsafeBytes { splitter.feed($0) { _, _, _ in count += 1 } }
    splitter.finish { _, _, _ in count += 1 }
    #expect(count == 2)
  }
}
