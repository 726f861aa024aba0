import Foundation

/// A progress reporter for long work: on a terminal, one `\r`-redrawn line with a bar, rates and
/// ETA; otherwise (CI, pipes, log files) a plain log line every `logInterval` seconds.
///
/// All output goes to standard error so standard output stays pipeable.
public final class Progress: @unchecked Sendable {
  /// One rate shown on the line, e.g. `("MB/s", bytes / 1e6)`.
  public struct Rate: Sendable {
    /// The unit label, e.g. `MB/s`.
    public var unit: String
    /// The cumulative amount whose per-second rate is shown.
    public var amount: Double
    /// A rate for `amount` units of `unit`.
    public init(_ unit: String, _ amount: Double) {
      self.unit = unit
      self.amount = amount
    }
  }

  private let title: String
  private let total: Double?
  private let isTerminal: Bool
  private let logInterval: Double
  private let start = Date()
  private var lastDraw = Date.distantPast
  private var lastLog = Date()
  private let lock = NSLock()
  private var drewLine = false

  /// Creates a reporter. `total` is the amount at completion (for the bar and ETA), if known.
  public init(title: String, total: Double?, logInterval: Double = 10, forceTerminal: Bool? = nil) {
    self.title = title
    self.total = total
    self.logInterval = logInterval
    self.isTerminal = forceTerminal ?? (isatty(STDERR_FILENO) != 0)
  }

  /// Reports that `done` of `total` is finished, with the given cumulative rates.
  /// Cheap to call often: it redraws at most 10 times a second.
  public func update(done: Double, rates: [Rate] = [], detail: String = "") {
    lock.lock()
    defer { lock.unlock() }
    let now = Date()
    let elapsed = now.timeIntervalSince(start)
    if isTerminal {
      guard now.timeIntervalSince(lastDraw) >= 0.1 else { return }
      lastDraw = now
      let line = render(done: done, elapsed: elapsed, rates: rates, detail: detail, bar: true)
      writeStandardError("\r\u{1B}[K" + line)
      drewLine = true
    } else {
      guard now.timeIntervalSince(lastLog) >= logInterval else { return }
      lastLog = now
      writeStandardError(render(done: done, elapsed: elapsed, rates: rates, detail: detail, bar: false) + "\n")
    }
  }

  /// Ends the line (on a terminal) and prints a final message.
  public func finish(_ message: String) {
    lock.lock()
    defer { lock.unlock() }
    if isTerminal && drewLine { writeStandardError("\r\u{1B}[K") }
    writeStandardError(message + "\n")
  }

  private func render(done: Double, elapsed: Double, rates: [Rate], detail: String, bar: Bool) -> String {
    var parts = [title]
    if let total, total > 0 {
      let fraction = min(max(done / total, 0), 1)
      if bar {
        let width = 24
        let filled = Int(fraction * Double(width))
        parts.append("[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
      }
      parts.append(String(format: "%5.1f%%", fraction * 100))
      if fraction > 0, fraction < 1 {
        parts.append("ETA " + Progress.duration(elapsed / fraction - elapsed))
      }
    }
    for rate in rates where elapsed > 0 {
      parts.append(Progress.compact(rate.amount / elapsed) + " " + rate.unit)
    }
    parts.append(Progress.duration(elapsed))
    if !detail.isEmpty { parts.append(detail) }
    return parts.joined(separator: "  ")
  }

  /// `1234567` → `1.23M`; for rates and counts on progress lines.
  public static func compact(_ x: Double) -> String {
    let a = abs(x)
    if a >= 1e9 { return String(format: "%.2fG", x / 1e9) }
    if a >= 1e6 { return String(format: "%.2fM", x / 1e6) }
    if a >= 1e4 { return String(format: "%.1fk", x / 1e3) }
    if a >= 100 { return String(format: "%.0f", x) }
    return String(format: "%.2f", x)
  }

  /// Seconds as `12s`, `3m05s` or `1h02m`.
  public static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    let s = Int(seconds.rounded())
    if s < 60 { return "\(s)s" }
    if s < 3600 { return String(format: "%dm%02ds", s / 60, s % 60) }
    return String(format: "%dh%02dm", s / 3600, (s % 3600) / 60)
  }
}

/// Writes `text` to standard error without buffering.
public func writeStandardError(_ text: String) {
  var text = text
  text.withUTF8 { bytes in
    var offset = 0
    while offset < bytes.count {
      let n = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
      if n <= 0 { return }
      offset += n
    }
  }
}
