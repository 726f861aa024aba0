import Foundation

/// What the dashboard answers: a status, a content type, extra headers and the body bytes.
public struct Response: Sendable {
  public var status: Int
  public var contentType: String
  public var headers: [(name: String, value: String)]
  public var body: Data

  public init(status: Int, contentType: String, headers: [(name: String, value: String)] = [], body: Data) {
    self.status = status
    self.contentType = contentType
    self.headers = headers
    self.body = body
  }

  /// The body as text (for tests and logs).
  public var text: String { String(decoding: body, as: UTF8.self) }

  static func html(_ status: Int, _ page: String) -> Response {
    Response(status: status, contentType: "text/html; charset=utf-8", body: Data(page.utf8))
  }

  /// An error page: `status` with a title and a one-line explanation (escaped).
  static func error(_ status: Int, _ title: String, _ message: String) -> Response {
    html(status, HTML.page(title: title, body: "<p class=\"error\">\(HTML.escape(message))</p>"))
  }

  /// A download: `text/csv` or `image/svg+xml` with an attachment file name.
  static func download(_ text: String, contentType: String, filename: String) -> Response {
    let safe = String(filename.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" })
    return Response(
      status: 200, contentType: contentType, headers: [("Content-Disposition", "attachment; filename=\"\(safe)\"")],
      body: Data(text.utf8))
  }
}

/// A request the dashboard refuses, with the status to answer.
struct RequestError: Error {
  var status: Int
  var message: String

  static func bad(_ message: String) -> RequestError { RequestError(status: 400, message: message) }
  static func notFound(_ message: String) -> RequestError { RequestError(status: 404, message: message) }
}
