import CZstd
import Foundation

/// Streams the decompressed bytes of a zstd file (one or more frames, with or without content
/// size and checksum) through fixed buffers: memory stays bounded whatever the file size
/// (docs/FORMATS.md, "Implementation notes"; the window is capped by `windowLogMax`, 128 MiB at the default 27).
public final class ZstdFileReader {
  /// The file being read.
  public let path: String
  /// Size of the compressed file in bytes.
  public let compressedSize: Int
  /// Compressed bytes consumed so far (for progress bars).
  public private(set) var compressedBytesRead = 0
  private let windowLogMax: Int32

  /// Opens `path` for streaming; fails if it does not exist or is empty.
  public init(path: String, windowLogMax: Int32 = 27) throws {
    self.path = path
    self.windowLogMax = windowLogMax
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
      throw ZstdError.io(path: path, reason: "no such file")
    }
    compressedSize = (attributes[.size] as? NSNumber)?.intValue ?? 0
    if compressedSize == 0 { throw ZstdError.empty(path: path) }
  }

  /// Calls `body` with each decompressed block (valid only during the call). Throws
  /// ``ZstdError`` on corrupt data, a truncated last frame, or a non-zstd file.
  public func forEachBlock(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw ZstdError.io(path: path, reason: String(cString: strerror(errno))) }
    defer { close(fd) }
    guard let dctx = ZSTD_createDCtx() else { throw ZstdError.io(path: path, reason: "out of memory") }
    defer { ZSTD_freeDCtx(dctx) }
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, windowLogMax)
    let inCapacity = ZSTD_DStreamInSize()
    let outCapacity = ZSTD_DStreamOutSize()
    let inBuffer = UnsafeMutableRawPointer.allocate(byteCount: inCapacity, alignment: 64)
    let outBuffer = UnsafeMutableRawPointer.allocate(byteCount: outCapacity, alignment: 64)
    defer {
      inBuffer.deallocate()
      outBuffer.deallocate()
    }
    compressedBytesRead = 0
    var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    var lastReturn = 0  // 0 once a frame is complete
    var sawInput = false
    while true {
      if input.pos == input.size {
        let n = read(fd, inBuffer, inCapacity)
        if n < 0 { throw ZstdError.io(path: path, reason: String(cString: strerror(errno))) }
        if n == 0 {
          if lastReturn != 0 || !sawInput { throw ZstdError.truncated(path: path, offset: compressedBytesRead) }
          return
        }
        sawInput = true
        input = ZSTD_inBuffer(src: UnsafeRawPointer(inBuffer), size: n, pos: 0)
      }
      var output = ZSTD_outBuffer(dst: outBuffer, size: outCapacity, pos: 0)
      let before = input.pos
      let ret = ZSTD_decompressStream(dctx, &output, &input)
      compressedBytesRead += input.pos - before
      if ZSTD_isError(ret) != 0 {
        throw ZstdError.corrupt(path: path, offset: compressedBytesRead, reason: String(cString: ZSTD_getErrorName(ret)))
      }
      lastReturn = ret
      if output.pos > 0 { try body(UnsafeRawBufferPointer(start: outBuffer, count: output.pos)) }
    }
  }
}

/// zstd compression of whole buffers, for tests and for making sample shards.
public enum Zstd {
  /// One zstd frame of `data`; `contentSize` and `checksum` set the frame-header flags.
  public static func compress(_ data: [UInt8], level: Int32 = 3, contentSize: Bool = true, checksum: Bool = false) -> [UInt8] {
    let cctx = ZSTD_createCCtx()
    defer { ZSTD_freeCCtx(cctx) }
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, contentSize ? 1 : 0)
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0)
    var out = [UInt8](repeating: 0, count: ZSTD_compressBound(data.count))
    // The streaming API writes no content size unless told the source size up front.
    if contentSize { ZSTD_CCtx_setPledgedSrcSize(cctx, UInt64(data.count)) }
    let written = out.withUnsafeMutableBytes { dst in
      data.withUnsafeBytes { src in
        var input = ZSTD_inBuffer(src: src.baseAddress, size: src.count, pos: 0)
        var output = ZSTD_outBuffer(dst: dst.baseAddress, size: dst.count, pos: 0)
        while true {
          let remaining = ZSTD_compressStream2(cctx, &output, &input, ZSTD_e_end)
          precondition(ZSTD_isError(remaining) == 0, "zstd compression failed")
          if remaining == 0 { break }
        }
        return output.pos
      }
    }
    out.removeSubrange(written...)
    return out
  }
}
