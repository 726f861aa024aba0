import ZooSupport

/// The final table `zoo-ingest` prints: one row per shard and a total row.
public enum IngestSummary {
  /// Renders the results as a text table.
  public static func table(_ results: [ShardResult]) -> String {
    var table = TextTable(header: ["shard", "status", "docs", "tokens", "skipped", "text_MB", "seconds", "MB/s", "tok/s"])
    func row(_ name: String, _ status: String, _ r: ShardResult) -> [String] {
      let rate = r.seconds > 0 ? Double(r.textBytes) / 1e6 / r.seconds : 0
      let tokenRate = r.seconds > 0 ? Double(r.tokens) / r.seconds : 0
      return [
        name, status, "\(r.documents)", "\(r.tokens)", "\(r.skippedLines)",
        String(format: "%.2f", Double(r.textBytes) / 1e6), String(format: "%.2f", r.seconds),
        r.status == .written && r.textBytes > 0 ? String(format: "%.1f", rate) : "",
        r.status == .written ? Progress.compact(tokenRate) : "",
      ]
    }
    var total = ShardResult(shard: "", output: "", status: .written)
    for r in results {
      let status: String
      switch r.status {
      case .written: status = "written"
      case .upToDate: status = "up-to-date"
      case .failed: status = "FAILED"
      }
      table.append(row(r.shard.split(separator: "/").last.map(String.init) ?? r.shard, status, r))
      if r.status == .written {
        total.documents += r.documents
        total.tokens += r.tokens
        total.textBytes += r.textBytes
        for (k, v) in r.skipped { total.skipped[k, default: 0] += v }
      }
      total.seconds += r.seconds
    }
    if results.count > 1 { table.append(row("total", "", total)) }
    var out = table.render()
    let reasons = results.flatMap { r in r.skipped.map { ($0.key, $0.value) } }
    if !reasons.isEmpty {
      var counts: [LineSkipReason: Int] = [:]
      for (k, v) in reasons { counts[k, default: 0] += v }
      out += "skipped lines: " + counts.sorted { $0.key < $1.key }.map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ") + "\n"
    }
    return out
  }
}
