import Foundation

/// HTML building blocks: escaping, the page frame, tables. Every string from the registry, a file
/// or the request goes through `escape` before it reaches a page.
enum HTML {
  /// `s` with `& < > " '` replaced by entities: safe in text and in quoted attributes.
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  /// A link `<a href="href">text</a>`; `href` is built by `Query.url` (already percent-encoded).
  static func link(_ href: String, _ text: String) -> String {
    "<a href=\"\(escape(href))\">\(escape(text))</a>"
  }

  /// A complete page: navigation, title, body; `refresh` seconds adds a meta refresh.
  static func page(title: String, body: String, refresh: Int? = nil) -> String {
    """
    <!DOCTYPE html>
    <html lang="en"><head><meta charset="utf-8">
    \(refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? "")
    <title>\(escape(title)) · zoo-runs</title>
    <style>
    body{font:14px system-ui,sans-serif;margin:0 1.5em 2em;color:#222}
    nav{padding:.6em 0;border-bottom:1px solid #ccc;margin-bottom:1em}
    nav a{margin-right:1.2em;font-weight:600}
    table{border-collapse:collapse;margin:.5em 0 1.2em}
    th,td{border:1px solid #ddd;padding:2px 8px;text-align:left;font-variant-numeric:tabular-nums}
    th{background:#f3f3f3}
    .charts{display:flex;flex-wrap:wrap;gap:12px}
    figure{margin:0;border:1px solid #ddd;padding:4px}
    figcaption{font-size:12px}
    .error{background:#fee;border:1px solid #c33;padding:1em}
    .running{color:#06c;font-weight:600}.failed,.killed{color:#c33}
    code{font-size:12px}
    </style></head><body>
    <nav><a href="/">Runs</a><a href="/analyses">Analyses</a><a href="/mqar">MQAR</a><a href="/queries">Queries</a></nav>
    <h1>\(escape(title))</h1>
    \(body)
    </body></html>
    """
  }

  /// A table of already-escaped header and cell HTML.
  static func table(header: [String], rows: [[String]]) -> String {
    var out = "<table><thead><tr>"
    for h in header { out += "<th>\(h)</th>" }
    out += "</tr></thead><tbody>\n"
    for row in rows {
      out += "<tr>"
      for cell in row { out += "<td>\(cell)</td>" }
      out += "</tr>\n"
    }
    return out + "</tbody></table>"
  }

  /// A table of plain text (escaped here).
  static func textTable(header: [String], rows: [[String]]) -> String {
    table(header: header.map(escape), rows: rows.map { $0.map(escape) })
  }

  /// A number for display: 6 significant digits, `nan` for nil.
  static func number(_ v: Double?) -> String {
    guard let v else { return "nan" }
    return String(format: "%.6g", v)
  }
}
