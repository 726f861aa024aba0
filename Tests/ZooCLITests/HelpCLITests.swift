import Foundation
import Testing

/// `--help` of every command reads well at 80 columns: ArgumentParser wraps the overview itself,
/// so a paragraph must not carry hard line breaks (they come out as ragged short lines) and an
/// example line must fit (a longer one wraps onto an unindented line).
@Suite struct HelpCLITests {
  static let width = 80
  static let commands: [(String, [String])] = [
    ("zoo-ingest", []),
    ("zoo-train", []), ("zoo-train", ["lm"]), ("zoo-train", ["mqar"]), ("zoo-train", ["sweep"]), ("zoo-train", ["export"]),
    ("zoo-analyze", []), ("zoo-analyze", ["gap"]), ("zoo-analyze", ["bigrams"]), ("zoo-analyze", ["mqar"]),
    ("zoo-runs", []), ("zoo-runs", ["list"]), ("zoo-runs", ["show"]), ("zoo-runs", ["metrics"]), ("zoo-runs", ["compare"]),
    ("zoo-runs", ["delete"]), ("zoo-runs", ["query"]), ("zoo-runs", ["export"]),
    ("zoo-bench", []), ("zoo-bench", ["tokenize"]), ("zoo-bench", ["mixers"]), ("zoo-bench", ["train"]),
    ("zoo-bench", ["registry"]), ("zoo-bench", ["analyze"]),
  ]

  /// Why the overview (everything before `USAGE:`) of `help` does not read well, or `nil`.
  static func raggedLine(in help: String) -> String? {
    let overview = help.components(separatedBy: "\nUSAGE:")[0].components(separatedBy: "\n")
    for line in overview where line.count > width { return "line over \(width) columns: \(line)" }
    for (a, b) in zip(overview, overview.dropFirst()) where !a.isEmpty && !b.isEmpty && !b.hasPrefix(" ") {
      if a.hasPrefix(" ") { return "an indented line wrapped or runs into a paragraph: \(a) / \(b)" }
      let next = b.prefix { $0 != " " }.count
      if a.count + 1 + next < width { return "hard line break inside a paragraph: \(a) / \(b)" }
    }
    return nil
  }

  @Test func everyOverviewWrapsAsOneParagraphPerLine() throws {
    let scratch = try Scratch()
    for (tool, subcommand) in Self.commands {
      let out = try Tool.run(tool, subcommand + ["--help"], in: scratch.path, environment: ["COLUMNS": String(Self.width)])
      let name = ([tool] + subcommand).joined(separator: " ")
      #expect(out.status == 0, "\(name) --help: \(out.stderr)")
      #expect(out.stdout.contains("OVERVIEW:"), "\(name) --help has no overview")
      let problem = Self.raggedLine(in: out.stdout)
      #expect(problem == nil, "\(name) --help: \(problem ?? "")")
    }
  }

  @Test func theCheckCatchesHardBreaksAndWrappedExamples() {
    let filled = "OVERVIEW: one paragraph that the parser filled up to the width of the screen, so\nits second line.\n\nUSAGE: x"
    #expect(Self.raggedLine(in: filled) == nil)
    #expect(Self.raggedLine(in: "OVERVIEW: a line broken by hand\nlong before the edge.\n\nUSAGE: x") != nil)
    #expect(Self.raggedLine(in: "OVERVIEW: x\n\nExample:\n  zoo-train lm --data a.h5 b.h5\n--layers 2\n\nUSAGE: x") != nil)
  }
}
