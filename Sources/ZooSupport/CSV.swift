import Foundation

/// RFC 4180 CSV: a header row, `,` separators, `\n` line endings, and a field quoted
/// (inner `"` doubled) only when it holds `,`, `"`, `\r` or `\n`.
///
/// Numbers are written with `.` decimals whatever the locale, so the files read the same in
/// pandas, R and spreadsheets.
public struct CSVTable: Sendable, Equatable {
  /// Column names, in file order.
  public var header: [String]
  /// Rows of already formatted fields; each has `header.count` entries.
  public var rows: [[String]]

  /// A table with the given column names and no rows.
  public init(header: [String], rows: [[String]] = []) {
    self.header = header
    self.rows = rows
  }

  /// Appends one row; its field count must equal the header's.
  public mutating func append(_ row: [String]) {
    precondition(row.count == header.count, "CSV row has \(row.count) fields, header \(header.count)")
    rows.append(row)
  }

  /// The whole table as RFC 4180 text with `\n` line endings.
  public func render() -> String {
    var out = ""
    for line in [header] + rows {
      out += line.map(CSVTable.escape).joined(separator: ",")
      out += "\n"
    }
    return out
  }

  /// Writes the table atomically (temporary file, then rename).
  public func write(to path: String) throws {
    try AtomicFile.write(Data(render().utf8), to: path)
  }

  /// Quotes a field when RFC 4180 requires it.
  public static func escape(_ field: String) -> String {
    let needsQuotes = field.utf8.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
    guard needsQuotes else { return field }
    return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }

  /// Formats a number for CSV: integers as is, others with up to `digits` significant digits,
  /// `nan`/`inf`/`-inf` spelled as pandas reads them.
  public static func number(_ x: Double, digits: Int = 8) -> String {
    if x.isNaN { return "nan" }
    if x.isInfinite { return x > 0 ? "inf" : "-inf" }
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return String(format: "%.\(digits)g", locale: Locale(identifier: "en_US_POSIX"), x)
  }

  /// Parses RFC 4180 text (quoted fields, doubled quotes, embedded newlines). Used by tests and
  /// by commands that read CSV back.
  public static func parse(_ text: String) -> [[String]] {
    var rows: [[String]] = []
    var row: [String] = []
    var field = ""
    var inQuotes = false
    var iterator = text.unicodeScalars.makeIterator()
    var pending: Unicode.Scalar? = nil
    while let c = pending ?? iterator.next() {
      pending = nil
      if inQuotes {
        if c == "\"" {
          if let next = iterator.next() {
            if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = next }
          } else {
            inQuotes = false
          }
        } else {
          field.unicodeScalars.append(c)
        }
        continue
      }
      switch c {
      case "\"": inQuotes = true
      case ",": row.append(field); field = ""
      case "\r": continue
      case "\n": row.append(field); rows.append(row); row = []; field = ""
      default: field.unicodeScalars.append(c)
      }
    }
    if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
    return rows
  }
}
