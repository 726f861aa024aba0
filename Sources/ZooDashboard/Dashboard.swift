import Foundation
import ZooRegistry
import ZooSupport

/// The read-only registry dashboard as a pure function from a request target to a response:
/// routing, HTML pages and SVG charts, with no sockets (`DashboardServer` puts it on HTTP).
/// Each request opens its own read-only connection, so a registry that vanishes or is replaced
/// is noticed on the next request, and requests never share SQLite state.
public struct Dashboard: Sendable {
  /// The registry file.
  public var databasePath: String
  /// The directory of `.sql` files the queries page may run (and the MQAR page reads).
  public var queriesDirectory: String
  /// Seconds between reloads of pages showing running runs.
  public var refreshSeconds = 5
  /// Points per curve are cut to at most twice this (min and max per bucket).
  public var curveBuckets = 1_000

  public init(databasePath: String, queriesDirectory: String) {
    self.databasePath = databasePath
    self.queriesDirectory = queriesDirectory
  }

  /// A rendered page: its title, body HTML, the charts it embeds (for downloads) and refresh.
  struct Page {
    var title: String
    var body: String
    var charts: [any Chart] = []
    var refresh: Int? = nil
  }

  /// Answers one request. Never throws: bad input is 400, unknown things 404, a registry that
  /// cannot be read 503 with a page saying why.
  public func respond(method: String, target: String) -> Response {
    guard method == "GET" || method == "HEAD" else {
      return .error(405, "Method not allowed", "zoo-runs serve is read-only: only GET and HEAD.")
    }
    guard let query = Query(target: target) else { return .error(400, "Bad request", "Malformed percent-encoding.") }
    do {
      return try route(query)
    } catch let error as RequestError {
      return .error(error.status, error.status == 404 ? "Not found" : "Bad request", error.message)
    } catch let error as SQLiteError {
      return .error(503, "Registry unavailable", "The registry at \(databasePath) cannot be read: \(error.description)")
    } catch {
      return .error(500, "Error", "\(error)")
    }
  }

  private func route(_ query: Query) throws -> Response {
    let page: Page
    switch query.path {
    case "/": page = try runsPage(query)
    case "/run": page = try runPage(query)
    case "/compare": page = try comparePage(query)
    case "/analyses": page = try analysesPage(query)
    case "/mqar": page = try mqarPage(query)
    case "/queries": page = try queriesPage(query)
    case "/query":
      if query.value("download") == "rows.csv" { return try queryCSV(query) }
      page = try queryPage(query)
    case "/artifact": return try artifactFile(query)
    default: throw RequestError.notFound("No page at \(query.path).")
    }
    if let download = query.value("download") {
      let isSVG = download.hasSuffix(".svg"), isCSV = download.hasSuffix(".csv")
      guard isSVG || isCSV else { throw RequestError.bad("download must name <chart>.svg or <chart>.csv") }
      let id = String(download.dropLast(4))
      guard let chart = page.charts.first(where: { $0.id == id }) else { throw RequestError.notFound("No chart \(id) on this page.") }
      return isSVG
        ? .download(chart.svg(), contentType: "image/svg+xml", filename: download)
        : .download(chart.csv().render(), contentType: "text/csv; charset=utf-8", filename: download)
    }
    return .html(200, HTML.page(title: page.title, body: page.body, refresh: page.refresh))
  }

  /// A fresh read-only connection.
  func open() throws -> RegistryReader { try RegistryReader(path: databasePath) }

  /// `key` as a flag: absent or `0` is false, `1` true, anything else a bad request.
  func flag(_ query: Query, _ key: String) throws -> Bool {
    switch query.value(key) {
    case nil, "0": return false
    case "1": return true
    default: throw RequestError.bad("\(key) must be 0 or 1")
    }
  }

  /// A run link.
  func runLink(_ name: String) -> String { HTML.link(Query(path: "/run", items: [("name", name)]).url, name) }

  /// A curve of one key of a run, downsampled.
  func curve(_ reader: RegistryReader, run: RunRecord, key: String) throws -> [(x: Double, y: Double)] {
    let s = try reader.series(ofRun: run.id, key: key)
    return downsampleMinMax(x: s.steps.map(Double.init), y: s.values, buckets: curveBuckets)
  }

  /// A chart id from its position and a metric key (`2`, `train/loss` -> `2-train-loss`).
  func chartID(_ index: Int, _ key: String) -> String {
    "\(index)-" + String(key.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" })
  }
}
