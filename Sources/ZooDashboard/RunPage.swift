import Foundation
import ZooRegistry

extension Dashboard {
  /// `/run?name=N[&log=1]`: a run's fields, one curve per metric against step (log y with
  /// `log=1`), metric summaries, params and its artifacts with size and sha256.
  func runPage(_ query: Query) throws -> Page {
    guard let name = query.value("name"), !name.isEmpty else { throw RequestError.bad("/run needs ?name=<run>") }
    let log = try flag(query, "log")
    let reader = try open()
    guard let run = try reader.run(named: name) else { throw RequestError.notFound("No run named \(name).") }
    var body = HTML.textTable(
      header: ["field", "value"],
      rows: [
        ["name", run.name], ["kind", run.kind], ["mixer", run.mixer], ["status", run.status.rawValue],
        ["started", run.startedAt], ["ended", run.endedAt ?? ""], ["host", run.host], ["pid", run.pid.map(String.init) ?? ""],
        ["git commit", run.gitCommit ?? ""],
      ])
    let summaries = try reader.summaries(ofRun: run.id)
    var charts: [any Chart] = []
    for (i, s) in summaries.enumerated() {
      charts.append(
        LineChart(
          id: chartID(i, s.key), title: s.key, xLabel: "step", yLabel: s.key,
          series: [.init(name: run.name, points: try curve(reader, run: run, key: s.key))], logY: log))
    }
    body += "<h2>Curves</h2><p>" + HTML.link(query.setting("log", to: log ? nil : "1").url, log ? "linear y" : "log y") + "</p>"
    body += "<div class=\"charts\">" + charts.map { $0.figure(pageURL: query) }.joined() + "</div>"
    body += "<h2>Metrics</h2>"
      + HTML.textTable(
        header: ["key", "goal", "last", "last step", "best", "best step", "min", "max", "points"],
        rows: summaries.map {
          [$0.key, $0.goal.rawValue, HTML.number($0.last), String($0.lastStep), HTML.number($0.best), $0.bestStep.map(String.init) ?? "",
           HTML.number($0.min), HTML.number($0.max), String($0.count)]
        })
    body += "<h2>Params</h2>" + HTML.textTable(header: ["key", "value"], rows: try reader.params(ofRun: run.id).map { [$0.key, $0.value] })
    body += "<h2>Artifacts</h2>"
      + HTML.table(
        header: ["kind", "path", "bytes", "sha256"],
        rows: try reader.artifacts(ofRun: run.id).map { a in
          [HTML.escape(a.artifact.kind), HTML.link(Query(path: "/artifact", items: [("id", String(a.id))]).url, a.artifact.path),
           String(a.artifact.bytes), "<code>\(HTML.escape(a.artifact.sha256))</code>"]
        })
    return Page(title: "Run \(run.name)", body: body, charts: charts, refresh: run.status == .running ? refreshSeconds : nil)
  }

  /// `/compare?run=A&run=B...[&log=1]`: the params that differ and every metric's curves overlaid.
  func comparePage(_ query: Query) throws -> Page {
    var names: [String] = []
    for n in query.values("run") where !names.contains(n) { names.append(n) }
    guard names.count >= 2 else { throw RequestError.bad("/compare needs two or more ?run=<name>") }
    let log = try flag(query, "log")
    let reader = try open()
    var runs: [RunRecord] = []
    for n in names {
      guard let run = try reader.run(named: n) else { throw RequestError.notFound("No run named \(n).") }
      runs.append(run)
    }
    let params = try runs.map { Dictionary(try reader.params(ofRun: $0.id).map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a }) }
    let keys = Set(params.flatMap(\.keys)).sorted()
    let differing = keys.filter { k in Set(params.map { $0[k] ?? "" }).count > 1 }
    var body = "<h2>Params that differ</h2>"
    body += HTML.table(
      header: ["key"] + runs.map { runLink($0.name) },
      rows: differing.map { k in [HTML.escape(k)] + params.map { HTML.escape($0[k] ?? "—") } })
    body += "<p>\(keys.count - differing.count) params are the same in every run.</p>"
    var metricKeys: [String] = []
    for run in runs { for s in try reader.summaries(ofRun: run.id) where !metricKeys.contains(s.key) { metricKeys.append(s.key) } }
    metricKeys.sort()
    var charts: [any Chart] = []
    for (i, key) in metricKeys.enumerated() {
      let series = try runs.map { LineChart.Series(name: $0.name, points: try curve(reader, run: $0, key: key)) }
      charts.append(LineChart(id: chartID(i, key), title: key, xLabel: "step", yLabel: key, series: series, logY: log))
    }
    body += "<h2>Curves</h2><p>" + HTML.link(query.setting("log", to: log ? nil : "1").url, log ? "linear y" : "log y") + "</p>"
    body += "<div class=\"charts\">" + charts.map { $0.figure(pageURL: query) }.joined() + "</div>"
    let running = runs.contains { $0.status == .running }
    return Page(title: "Compare \(runs.count) runs", body: body, charts: charts, refresh: running ? refreshSeconds : nil)
  }
}
