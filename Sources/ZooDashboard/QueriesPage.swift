import Foundation
import ZooRegistry
import ZooSupport

extension Dashboard {
  /// The `.sql` files of the queries directory, sorted: the only SQL the dashboard runs.
  func queryFiles() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: queriesDirectory)) ?? []
    return names.filter { $0.hasSuffix(".sql") && !$0.hasPrefix(".") }.sorted()
  }

  /// The file `?file=` names, only when it is one of `queryFiles()` (no paths, no traversal).
  private func queryFile(_ query: Query) throws -> (name: String, sql: String) {
    guard let name = query.value("file"), !name.isEmpty else { throw RequestError.bad("/query needs ?file=<name>.sql") }
    guard !name.contains("/"), !name.contains(".."), queryFiles().contains(name) else {
      throw RequestError.notFound("\(name) is not a file of the queries directory.")
    }
    let path = URL(fileURLWithPath: queriesDirectory).appendingPathComponent(name).path
    guard let sql = try? String(contentsOfFile: path, encoding: .utf8) else { throw RequestError.notFound("Cannot read \(name).") }
    return (name, sql)
  }

  /// `/queries`: the files of the queries directory with their leading comment.
  func queriesPage(_ query: Query) throws -> Page {
    let rows = queryFiles().map { name -> [String] in
      let path = URL(fileURLWithPath: queriesDirectory).appendingPathComponent(name).path
      let comment = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n")
        .prefix { $0.hasPrefix("--") }.map { $0.dropFirst(2).trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
      return [HTML.link(Query(path: "/query", items: [("file", name)]).url, name), HTML.escape(comment)]
    }
    let body = "<p>The SQL files of <code>\(HTML.escape(queriesDirectory))</code>; nothing else is run.</p>"
      + HTML.table(header: ["file", "description"], rows: rows)
    return Page(title: "Queries", body: body)
  }

  /// `/query?file=F`: the file's SQL and its rows, with a CSV download.
  func queryPage(_ query: Query) throws -> Page {
    let file = try queryFile(query)
    let result = try open().query(file.sql)
    var body = "<p>" + HTML.link(query.setting("download", to: "rows.csv").url, "Download CSV") + " · \(result.rows.count) rows</p>"
    body += HTML.textTable(header: result.columns, rows: result.rows.map { $0.map(\.shellText) })
    body += "<h2>SQL</h2><pre>\(HTML.escape(file.sql))</pre>"
    return Page(title: file.name, body: body)
  }

  /// `/query?file=F&download=rows.csv`.
  func queryCSV(_ query: Query) throws -> Response {
    let file = try queryFile(query)
    let result = try open().query(file.sql)
    let csv = CSVTable(header: result.columns, rows: result.rows.map { $0.map(\.shellText) })
    return .download(csv.render(), contentType: "text/csv; charset=utf-8", filename: file.name.replacingOccurrences(of: ".sql", with: ".csv"))
  }

  /// `/artifact?id=N`: the file of artifact N, only because the registry lists it under that id
  /// (the request never names a path).
  func artifactFile(_ query: Query) throws -> Response {
    guard let text = query.value("id"), let id = Int64(text), id > 0 else { throw RequestError.bad("/artifact needs ?id=<positive integer>") }
    guard let listed = try open().artifact(id: id) else { throw RequestError.notFound("The registry lists no artifact \(id).") }
    guard let data = FileManager.default.contents(atPath: listed.artifact.path) else {
      throw RequestError.notFound("Artifact \(id) (\(listed.artifact.path)) is no longer on disk.")
    }
    return .download(
      String(decoding: Data(), as: UTF8.self), contentType: "application/octet-stream",
      filename: URL(fileURLWithPath: listed.artifact.path).lastPathComponent
    ).withBody(data)
  }
}

extension Response {
  func withBody(_ data: Data) -> Response {
    var copy = self
    copy.body = data
    return copy
  }
}
