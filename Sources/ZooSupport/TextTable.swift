/// A plain-text table for terminals: columns padded to their widest cell, numbers right-aligned.
///
/// ```
/// run    tokens  ppl_all
/// attn   12000   31.20
/// hyena  12000   40.10
/// ```
public struct TextTable: Sendable {
  /// Column names.
  public var header: [String]
  /// Rows of formatted cells.
  public var rows: [[String]] = []

  /// A table with the given header.
  public init(header: [String]) { self.header = header }

  /// Appends a row; its cell count must equal the header's.
  public mutating func append(_ row: [String]) {
    precondition(row.count == header.count, "table row has \(row.count) cells, header \(header.count)")
    rows.append(row)
  }

  /// The table as lines joined by `\n` (with a trailing newline).
  public func render() -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    let numeric = header.indices.map { i in
      !rows.isEmpty && rows.allSatisfy { $0[i].isEmpty || Double($0[i]) != nil || $0[i] == "nan" }
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, cell in
        let pad = String(repeating: " ", count: widths[i] - cell.count)
        return numeric[i] ? pad + cell : cell + pad
      }.joined(separator: "  ").trimmingTrailingSpaces()
    }
    var out = line(header) + "\n"
    out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
    for row in rows { out += line(row) + "\n" }
    return out
  }
}

extension String {
  fileprivate func trimmingTrailingSpaces() -> String {
    var s = Substring(self)
    while s.last == " " { s = s.dropLast() }
    return String(s)
  }
}
