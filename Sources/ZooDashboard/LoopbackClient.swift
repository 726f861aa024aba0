import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal blocking HTTP/1.1 GET over IPv4 (`Connection: close`), for the tests and the
/// benchmark: it sends the target exactly as given, so tests can send `..` and odd encodings.
public enum LoopbackClient {
  public struct Reply: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [String: String]
    public var body: Data
    public var text: String { String(decoding: body, as: UTF8.self) }
  }

  public struct Failure: Error, CustomStringConvertible {
    public var description: String
  }

  /// GETs `target` (e.g. `/run?name=x`) from `host:port`.
  public static func get(_ target: String, port: UInt16, host: String = "127.0.0.1", method: String = "GET") throws -> Reply {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(description: "bad host \(host)") }
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw Failure(description: "connect \(host):\(port): errno \(errno)") }
    let request = Array("\(method) \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n".utf8)
    var sent = 0
    while sent < request.count {
      let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
      sent += n
    }
    var data = Data()
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var headerEnd: Int?
    var contentLength: Int?
    while true {
      let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n < 0 { throw Failure(description: "recv: errno \(errno)") }
      if n == 0 { break }
      data.append(contentsOf: buffer[0..<n])
      if headerEnd == nil, let range = data.range(of: Data("\r\n\r\n".utf8)) {
        headerEnd = range.upperBound
        let head = String(decoding: data[..<range.lowerBound], as: UTF8.self).lowercased()
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
          contentLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces))
        }
      }
      if let headerEnd, let contentLength, method == "HEAD" || data.count - headerEnd >= contentLength { break }
    }
    guard let headerEnd else { throw Failure(description: "no HTTP header in \(data.count) bytes") }
    let lines = String(decoding: data[..<(headerEnd - 4)], as: UTF8.self).split(separator: "\r\n")
    guard let statusLine = lines.first, let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "") else {
      throw Failure(description: "bad status line")
    }
    var headers: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    return Reply(status: status, headers: headers, body: Data(data[headerEnd...]))
  }
}
