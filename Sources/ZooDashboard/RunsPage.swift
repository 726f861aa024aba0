import Foundation
import ZooRegistry
import ZooTracking

extension Dashboard {
  /// The sortable columns of the runs page, by their `sort=` name.
  static let runColumns = ["name", "kind", "mixer", "status", "started", "ended", "steps", "points"]

  /// `/`: every run, filtered by kind, mixer, status and name (substring), sorted by any column.
  func runsPage(_ query: Query) throws -> Page {
    let sort = query.value("sort") ?? "started"
    guard Self.runColumns.contains(sort) else { throw RequestError.bad("sort must be one of \(Self.runColumns.joined(separator: ", "))") }
    let descending: Bool
    switch query.value("dir") ?? "desc" {
    case "asc": descending = false
    case "desc": descending = true
    default: throw RequestError.bad("dir must be asc or desc")
    }
    let kind = query.value("kind").flatMap { $0.isEmpty ? nil : $0 }
    let mixer = query.value("mixer").flatMap { $0.isEmpty ? nil : $0 }
    let status = query.value("status").flatMap { $0.isEmpty ? nil : $0 }
    let name = query.value("name").flatMap { $0.isEmpty ? nil : $0 }
    if let status, RunStatus(rawValue: status) == nil { throw RequestError.bad("status must be running, finished, failed or killed") }

    let all = try open().runOverviews()
    var shown = all.filter { o in
      (kind == nil || o.run.kind == kind) && (mixer == nil || o.run.mixer == mixer)
        && (status == nil || o.run.status.rawValue == status) && (name == nil || o.run.name.contains(name!))
    }
    func key(_ o: RunOverview) -> String {
      switch sort {
      case "name": o.run.name
      case "kind": o.run.kind
      case "mixer": o.run.mixer
      case "status": o.run.status.rawValue
      case "ended": o.run.endedAt ?? ""
      default: o.run.startedAt
      }
    }
    shown.sort { a, b in
      let less: Bool
      switch sort {
      case "steps": less = (a.lastStep ?? -1, a.run.id) < (b.lastStep ?? -1, b.run.id)
      case "points": less = (a.points, a.run.id) < (b.points, b.run.id)
      default: less = (key(a), a.run.id) < (key(b), b.run.id)
      }
      return descending ? !less : less
    }

    var body = "<form method=\"get\" action=\"/\">"
    body += select("kind", Set(all.map(\.run.kind)).sorted(), kind)
    body += select("mixer", Set(all.map(\.run.mixer)).sorted(), mixer)
    body += select("status", RunStatus.allCases.map(\.rawValue), status)
    body += " name <input name=\"name\" value=\"\(HTML.escape(name ?? ""))\">"
    body += "<input type=\"hidden\" name=\"sort\" value=\"\(HTML.escape(sort))\"><input type=\"hidden\" name=\"dir\" value=\"\(descending ? "desc" : "asc")\">"
    body += " <button>Filter</button></form>"
    var counts = Dictionary(grouping: all, by: \.run.status.rawValue).mapValues(\.count)
    for s in RunStatus.allCases { counts[s.rawValue] = counts[s.rawValue] ?? 0 }
    body += "<p>\(shown.count) of \(all.count) runs shown · "
      + RunStatus.allCases.map { "\($0.rawValue): \(counts[$0.rawValue]!)" }.joined(separator: " · ") + "</p>"
    body += "<form method=\"get\" action=\"/compare\">"
    let header = ["compare"] + Self.runColumns.map { column -> String in
      let dir = column == sort && descending ? "asc" : "desc"
      let arrow = column == sort ? (descending ? " ▼" : " ▲") : ""
      return HTML.link(query.setting("sort", to: column).setting("dir", to: dir).url, column + arrow)
    }
    let rows = shown.map { o -> [String] in
      [
        "<input type=\"checkbox\" name=\"run\" value=\"\(HTML.escape(o.run.name))\">", runLink(o.run.name),
        HTML.escape(o.run.kind), HTML.escape(o.run.mixer),
        "<span class=\"\(o.run.status.rawValue)\">\(o.run.status.rawValue)</span>", HTML.escape(o.run.startedAt),
        HTML.escape(o.run.endedAt ?? ""), o.lastStep.map(String.init) ?? "", String(o.points),
      ]
    }
    body += HTML.table(header: header, rows: rows) + "<button>Compare selected</button></form>"
    let running = all.contains { $0.run.status == .running }
    return Page(title: "Runs", body: body, refresh: running ? refreshSeconds : nil)
  }

  private func select(_ name: String, _ options: [String], _ chosen: String?) -> String {
    var out = " \(name) <select name=\"\(name)\"><option value=\"\">all</option>"
    for o in options {
      out += "<option value=\"\(HTML.escape(o))\"\(o == chosen ? " selected" : "")>\(HTML.escape(o))</option>"
    }
    return out + "</select>"
  }
}
