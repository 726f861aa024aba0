import Foundation
import ZooSupport

/// A chart drawn on the server: inline SVG for the page, and the same SVG and its data as CSV for
/// download (`?download=<id>.svg` / `.csv` on the page's own URL).
protocol Chart {
  /// Unique within its page; used in download links and the `<svg id>`.
  var id: String { get }
  var title: String { get }
  func svg() -> String
  func csv() -> CSVTable
}

extension Chart {
  /// The chart in a `<figure>` with its download links, relative to the page URL `pageURL`.
  func figure(pageURL: Query) -> String {
    let svgLink = pageURL.setting("download", to: id + ".svg").url
    let csvLink = pageURL.setting("download", to: id + ".csv").url
    return "<figure>\(svg())<figcaption>\(HTML.link(svgLink, "SVG")) · \(HTML.link(csvLink, "CSV"))</figcaption></figure>"
  }
}

/// Colours of series, in order.
let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

/// The plot frame shared by the charts: size, margins, and axis ticks.
struct Frame {
  var width = 560.0
  var height = 320.0
  let left = 64.0, right = 16.0, top = 28.0, bottom = 44.0
  var plotWidth: Double { width - left - right }
  var plotHeight: Double { height - top - bottom }

  func open(id: String, title: String) -> String {
    """
    <svg id="\(HTML.escape(id))" xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
    viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="11">\
    <rect width="100%" height="100%" fill="#fff"/>\
    <text x="\(Int(width / 2))" y="16" text-anchor="middle" font-size="13" font-weight="bold">\(HTML.escape(title))</text>
    """
  }
}

/// An axis mapping data values to pixels, linear or log10.
struct Axis {
  var lo: Double
  var hi: Double
  let log: Bool

  /// The axis spanning `values` (positive ones only when `log`), padded when empty or flat.
  init(values: [Double], log: Bool, includeZero: Bool = false) {
    self.log = log
    let used = values.filter { $0.isFinite && (!log || $0 > 0) }
    var lo = used.min() ?? (log ? 1 : 0)
    var hi = used.max() ?? (log ? 10 : 1)
    if includeZero && !log { lo = min(lo, 0); hi = max(hi, 0) }
    if log { lo = Foundation.log10(lo); hi = Foundation.log10(hi) }
    if hi - lo < 1e-12 { lo -= 0.5; hi += 0.5 }
    self.lo = lo
    self.hi = hi
  }

  /// Position in [0, 1] of `v` (nil for non-positive values on a log axis).
  func unit(_ v: Double) -> Double? {
    guard v.isFinite else { return nil }
    if log { return v > 0 ? (Foundation.log10(v) - lo) / (hi - lo) : nil }
    return (v - lo) / (hi - lo)
  }

  /// About five round tick values within the range.
  func ticks() -> [Double] {
    if log {
      let a = Int(floor(lo)), b = Int(ceil(hi))
      let stride = max(1, (b - a) / 6)
      return Swift.stride(from: a, through: b, by: stride).map { pow(10, Double($0)) }.filter { unit($0).map { $0 >= -1e-9 && $0 <= 1 + 1e-9 } ?? false }
    }
    let raw = (hi - lo) / 5
    let magnitude = pow(10, floor(Foundation.log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
    var out: [Double] = []
    var t = ceil(lo / step) * step
    while t <= hi + step * 1e-9 { out.append(abs(t) < step * 1e-9 ? 0 : t); t += step }
    return out
  }

  static func label(_ v: Double) -> String { String(format: "%.4g", v) }
}

/// Lines of (x, y) points, one per series, with optional log axes and a legend.
struct LineChart: Chart {
  struct Series {
    var name: String
    var points: [(x: Double, y: Double)]
  }

  var id: String
  var title: String
  var xLabel: String
  var yLabel: String
  var series: [Series]
  var logX = false
  var logY = false
  /// Draw a dot on every point (for short series such as sweeps).
  var markers = false
  var frame = Frame()

  func svg() -> String {
    let xs = series.flatMap { $0.points.map(\.x) }
    let ys = series.flatMap { $0.points.map(\.y) }
    let xAxis = Axis(values: xs, log: logX)
    let yAxis = Axis(values: ys, log: logY)
    let f = frame
    var out = f.open(id: id, title: title)
    out += "<g stroke=\"#ccc\" stroke-width=\"0.5\">"
    var labels = ""
    for t in yAxis.ticks() {
      guard let u = yAxis.unit(t) else { continue }
      let py = f.top + (1 - u) * f.plotHeight
      out += "<line x1=\"\(f.left)\" x2=\"\(f.left + f.plotWidth)\" y1=\"\(fmt(py))\" y2=\"\(fmt(py))\"/>"
      labels += "<text x=\"\(f.left - 4)\" y=\"\(fmt(py + 4))\" text-anchor=\"end\">\(Axis.label(t))</text>"
    }
    for t in xAxis.ticks() {
      guard let u = xAxis.unit(t) else { continue }
      let px = f.left + u * f.plotWidth
      out += "<line y1=\"\(f.top)\" y2=\"\(f.top + f.plotHeight)\" x1=\"\(fmt(px))\" x2=\"\(fmt(px))\"/>"
      labels += "<text x=\"\(fmt(px))\" y=\"\(fmt(f.top + f.plotHeight + 14))\" text-anchor=\"middle\">\(Axis.label(t))</text>"
    }
    out += "</g>" + labels
    out += "<rect x=\"\(f.left)\" y=\"\(f.top)\" width=\"\(f.plotWidth)\" height=\"\(f.plotHeight)\" fill=\"none\" stroke=\"#444\"/>"
    out += "<text x=\"\(fmt(f.left + f.plotWidth / 2))\" y=\"\(fmt(f.height - 6))\" text-anchor=\"middle\">\(HTML.escape(xLabel + (logX ? " (log)" : "")))</text>"
    out += "<text transform=\"translate(12 \(fmt(f.top + f.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel + (logY ? " (log)" : "")))</text>"
    for (i, s) in series.enumerated() {
      let colour = palette[i % palette.count]
      var path = ""
      var dots = ""
      for p in s.points {
        guard let ux = xAxis.unit(p.x), let uy = yAxis.unit(p.y) else { continue }
        let px = f.left + ux * f.plotWidth, py = f.top + (1 - uy) * f.plotHeight
        path += (path.isEmpty ? "M" : "L") + fmt(px) + "," + fmt(py)
        if markers || s.points.count <= 50 { dots += "<circle cx=\"\(fmt(px))\" cy=\"\(fmt(py))\" r=\"2.5\" fill=\"\(colour)\"/>" }
      }
      if !path.isEmpty { out += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.3\"/>" + dots }
      let ly = f.top + 12 + Double(i) * 13
      out += "<rect x=\"\(fmt(f.left + 8))\" y=\"\(fmt(ly - 8))\" width=\"10\" height=\"3\" fill=\"\(colour)\"/>"
      out += "<text x=\"\(fmt(f.left + 22))\" y=\"\(fmt(ly - 3))\">\(HTML.escape(s.name))</text>"
    }
    return out + "</svg>"
  }

  func csv() -> CSVTable {
    var table = CSVTable(header: ["series", xLabel, yLabel])
    for s in series { for p in s.points { table.append([s.name, CSVTable.number(p.x, digits: 10), CSVTable.number(p.y, digits: 10)]) } }
    return table
  }
}

/// Grouped bars: for each group (e.g. a run), one bar per series (e.g. AR hits, other tokens).
struct BarChart: Chart {
  var id: String
  var title: String
  var yLabel: String
  var groups: [String]
  var seriesNames: [String]
  /// values[group][series]; nil draws no bar.
  var values: [[Double?]]
  var frame = Frame()

  func svg() -> String {
    let f = frame
    let yAxis = Axis(values: values.flatMap { $0.compactMap { $0 } }, log: false, includeZero: true)
    var out = f.open(id: id, title: title)
    for t in yAxis.ticks() {
      guard let u = yAxis.unit(t) else { continue }
      let py = f.top + (1 - u) * f.plotHeight
      out += "<line x1=\"\(f.left)\" x2=\"\(f.left + f.plotWidth)\" y1=\"\(fmt(py))\" y2=\"\(fmt(py))\" stroke=\"#ccc\" stroke-width=\"0.5\"/>"
      out += "<text x=\"\(f.left - 4)\" y=\"\(fmt(py + 4))\" text-anchor=\"end\">\(Axis.label(t))</text>"
    }
    out += "<text transform=\"translate(12 \(fmt(f.top + f.plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(HTML.escape(yLabel))</text>"
    let groupWidth = f.plotWidth / Double(max(groups.count, 1))
    let barWidth = groupWidth * 0.8 / Double(max(seriesNames.count, 1))
    let zero = f.top + (1 - (yAxis.unit(0) ?? 0)) * f.plotHeight
    for (g, name) in groups.enumerated() {
      let gx = f.left + Double(g) * groupWidth + groupWidth * 0.1
      for (s, v) in values[g].enumerated() {
        guard let v, let u = yAxis.unit(v) else { continue }
        let py = f.top + (1 - u) * f.plotHeight
        out += "<rect x=\"\(fmt(gx + Double(s) * barWidth))\" y=\"\(fmt(min(py, zero)))\" width=\"\(fmt(barWidth - 1))\" "
          + "height=\"\(fmt(abs(zero - py)))\" fill=\"\(palette[s % palette.count])\"><title>\(HTML.escape(name)) \(HTML.escape(seriesNames[s])): \(HTML.number(v))</title></rect>"
      }
      out += "<text x=\"\(fmt(gx + groupWidth * 0.4))\" y=\"\(fmt(f.top + f.plotHeight + 14))\" text-anchor=\"middle\">\(HTML.escape(name))</text>"
    }
    out += "<rect x=\"\(f.left)\" y=\"\(f.top)\" width=\"\(f.plotWidth)\" height=\"\(f.plotHeight)\" fill=\"none\" stroke=\"#444\"/>"
    for (s, name) in seriesNames.enumerated() {
      let ly = f.top + 12 + Double(s) * 13
      out += "<rect x=\"\(fmt(f.left + 8))\" y=\"\(fmt(ly - 9))\" width=\"10\" height=\"8\" fill=\"\(palette[s % palette.count])\"/>"
      out += "<text x=\"\(fmt(f.left + 22))\" y=\"\(fmt(ly - 2))\">\(HTML.escape(name))</text>"
    }
    return out + "</svg>"
  }

  func csv() -> CSVTable {
    var table = CSVTable(header: ["group"] + seriesNames)
    for (g, name) in groups.enumerated() { table.append([name] + values[g].map { $0.map { CSVTable.number($0, digits: 10) } ?? "" }) }
    return table
  }
}

/// A pixel coordinate with one decimal.
func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
