import Foundation
import ZooRegistry
import ZooSupport

extension Dashboard {
  /// `/analyses`: every recorded `zoo-analyze gap`, newest first, read from the CSVs it wrote:
  /// the gap table, perplexity on AR hits vs other tokens per run (bars), and AR perplexity by
  /// recall distance and by bigram frequency (lines).
  func analysesPage(_ query: Query) throws -> Page {
    let analyses = try open().analyses(command: "gap")
    var body = analyses.isEmpty ? "<p>No <code>zoo-analyze gap</code> recorded in this registry yet.</p>" : ""
    var charts: [any Chart] = []
    for analysis in analyses {
      body += "<h2>Gap analysis #\(analysis.id) · \(HTML.escape(analysis.createdAt))</h2>"
      body += HTML.textTable(header: ["setting", "value"], rows: analysis.arguments.keys.sorted().map { [$0, analysis.arguments[$0]!] })
      func table(_ file: String) -> (header: [String], rows: [[String]])? {
        guard let path = analysis.outputs.first(where: { URL(fileURLWithPath: $0).lastPathComponent == file }),
          let text = try? String(contentsOfFile: path, encoding: .utf8)
        else { return nil }
        let rows = CSVTable.parse(text).filter { !($0.count == 1 && $0[0].isEmpty) }
        guard let header = rows.first else { return nil }
        return (header, Array(rows.dropFirst()).filter { $0.count == header.count })
      }
      guard let gap = table("gap.csv") else {
        body += "<p class=\"error\">gap.csv of this analysis is missing or unreadable.</p>"
        continue
      }
      body += HTML.textTable(header: gap.header, rows: gap.rows)
      var figures: [any Chart] = []
      if let run = gap.header.firstIndex(of: "run"), let ar = gap.header.firstIndex(of: "ppl_ar"),
        let other = gap.header.firstIndex(of: "ppl_other")
      {
        figures.append(
          BarChart(
            id: "a\(analysis.id)-ppl", title: "Perplexity: AR hits vs other tokens", yLabel: "perplexity",
            groups: gap.rows.map { $0[run] }, seriesNames: ["AR hits", "other tokens"],
            values: gap.rows.map { [Double($0[ar]), Double($0[other])] }))
      }
      // Buckets [lo, hi) are plotted at hi on a log axis (lo may be 0); the open last bucket at 2 lo.
      for (file, id, title, x) in [
        ("ar_by_distance.csv", "distance", "AR perplexity by recall distance", "distance"),
        ("ar_by_frequency.csv", "frequency", "AR perplexity by bigram frequency", "bucket"),
      ] {
        guard let t = table(file), let run = t.header.firstIndex(of: "run"), let lo = t.header.firstIndex(of: x + "_lo"),
          let hi = t.header.firstIndex(of: x + "_hi"), let ppl = t.header.firstIndex(of: "ppl")
        else { continue }
        var series: [LineChart.Series] = []
        for row in t.rows {
          guard let l = Double(row[lo]), let h = Double(row[hi]), let yv = Double(row[ppl]), yv.isFinite else { continue }
          if series.last?.name != row[run] { series.append(.init(name: row[run], points: [])) }
          series[series.count - 1].points.append((h.isFinite ? h : 2 * max(l, 1), yv))
        }
        figures.append(
          LineChart(
            id: "a\(analysis.id)-\(id)", title: title, xLabel: (x == "bucket" ? "bigram count" : x) + " (bucket upper bound)",
            yLabel: "perplexity", series: series, logX: true, markers: true))
      }
      body += "<div class=\"charts\">" + figures.map { $0.figure(pageURL: query) }.joined() + "</div>"
      charts += figures
    }
    return Page(title: "Analyses", body: body, charts: charts)
  }

  /// `/mqar`: Zoology Figure 2, accuracy against d_model per mixer, one panel per sequence
  /// length, from `mqar_accuracy_by_d_model.sql` of the queries directory (read at each request).
  func mqarPage(_ query: Query) throws -> Page {
    let file = URL(fileURLWithPath: queriesDirectory).appendingPathComponent("mqar_accuracy_by_d_model.sql").path
    guard let sql = try? String(contentsOfFile: file, encoding: .utf8) else {
      return Page(title: "MQAR", body: "<p class=\"error\">Cannot read \(HTML.escape(file)).</p>")
    }
    let result = try open().query(sql)
    guard let mixer = result.columns.firstIndex(of: "mixer"), let d = result.columns.firstIndex(of: "d_model"),
      let seq = result.columns.firstIndex(of: "seq_len"), let acc = result.columns.firstIndex(of: "accuracy")
    else { return Page(title: "MQAR", body: "<p class=\"error\">\(HTML.escape(file)) lacks mixer, d_model, seq_len or accuracy.</p>") }
    var panels: [Int: [String: [(x: Double, y: Double)]]] = [:]
    for row in result.rows {
      guard let s = row[seq].double, let x = row[d].double, let y = row[acc].double else { continue }
      panels[Int(s), default: [:]][row[mixer].shellText, default: []].append((x, y))
    }
    var charts: [any Chart] = []
    for s in panels.keys.sorted() {
      let series = panels[s]!.keys.sorted().map { LineChart.Series(name: $0, points: panels[s]![$0]!.sorted { $0.x < $1.x }) }
      var chart = LineChart(
        id: "seq\(s)", title: "Sequence length \(s)", xLabel: "d_model", yLabel: "accuracy", series: series, logX: true, markers: true)
      chart.frame.width = 420
      charts.append(chart)
    }
    var body = "<p>Best eval/accuracy over learning rates per mixer and width, from <code>\(HTML.escape(file))</code>.</p>"
    body += charts.isEmpty ? "<p>No finished MQAR runs yet.</p>" : "<div class=\"charts\">" + charts.map { $0.figure(pageURL: query) }.joined() + "</div>"
    body += HTML.textTable(header: result.columns, rows: result.rows.map { $0.map(\.shellText) })
    return Page(title: "MQAR: accuracy vs d_model", body: body, charts: charts)
  }
}
