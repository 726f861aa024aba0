import FlyingFox
import FlyingSocks
import Foundation

/// `Dashboard` on HTTP (FlyingFox): every request, whatever its path, goes to `respond`.
public enum DashboardServer {
  struct Handler: HTTPHandler {
    let dashboard: Dashboard

    func handleRequest(_ request: HTTPRequest) async throws -> HTTPResponse {
      let rawQuery = request.target.query()
      let target = request.target.path() + (rawQuery.isEmpty ? "" : "?" + rawQuery)
      let response = dashboard.respond(method: request.method.rawValue, target: target)
      var headers: [HTTPHeader: String] = [.contentType: response.contentType, HTTPHeader("Cache-Control"): "no-store"]
      for h in response.headers { headers[HTTPHeader(h.name)] = h.value }
      return HTTPResponse(
        statusCode: HTTPStatusCode(response.status, phrase: phrase(response.status)), headers: HTTPHeaders(headers),
        body: request.method == .HEAD ? Data() : response.body)
    }

    func phrase(_ status: Int) -> String {
      switch status {
      case 200: "OK"
      case 400: "Bad Request"
      case 404: "Not Found"
      case 405: "Method Not Allowed"
      case 503: "Service Unavailable"
      default: "Internal Server Error"
      }
    }
  }

  /// Binds `host:port` (port 0: any free port), starts serving in the background and returns the
  /// server with the port it listens on.
  public static func start(_ dashboard: Dashboard, host: String, port: UInt16) async throws -> (server: HTTPServer, port: UInt16) {
    let address: sockaddr_in = try .inet(ip4: host, port: port)
    // FlyingFox answers 500 to a request its handler has not finished in `timeout` seconds (15 by
    // default); a page over a large registry, or one served while the machine is busy, may take
    // longer, so the limit is generous.
    let server = HTTPServer(address: address, timeout: 300, logger: .disabled, handler: Handler(dashboard: dashboard))
    Task { try await server.run() }
    // Binding takes milliseconds, but the serving task may wait for a thread of the cooperative
    // pool: FlyingFox's default wait of 5 s timed out in CI while both cores ran training tests.
    try await server.waitUntilListening(timeout: 120)
    guard case .ip4(_, let bound)? = await server.listeningAddress else { throw SocketError.disconnected }
    return (server, bound)
  }
}
