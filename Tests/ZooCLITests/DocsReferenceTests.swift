import Foundation
import Testing

/// Code, tests, README and scripts cite the repository's own docs, by section, and every cited
/// section exists: a clone is self-contained.
@Suite struct DocsReferenceTests {
  static let searched = ["Sources", "Tests", "README.md", "python", "bench", "notebooks-export", "queries", "sweeps"]

  /// Every text file under the searched paths, as (path relative to the package, contents).
  static func files() throws -> [(String, String)] {
    let root = Tool.packageRoot
    var out: [(String, String)] = []
    for top in searched {
      let url = root.appendingPathComponent(top)
      var paths: [URL] = [url]
      if let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil) {
        paths += walker.compactMap { $0 as? URL }
      }
      for path in paths {
        guard let text = try? String(contentsOf: path, encoding: .utf8) else { continue }
        out.append((String(path.path.dropFirst(root.path.count + 1)), text))
      }
    }
    return out
  }

  @Test func everyCitedSectionExists() throws {
    let docs = Tool.packageRoot.appendingPathComponent("docs")
    var headings: [String: Set<String>] = [:]
    for name in ["FORMATS", "ANALYSIS", "MODELS"] {
      let text = try String(contentsOf: docs.appendingPathComponent(name + ".md"), encoding: .utf8)
      headings[name] = Set(text.split(separator: "\n").filter { $0.hasPrefix("## ") }.map { String($0.dropFirst(3)) })
    }
    // `docs/NAME.md, "Section"` (a JSON-escaped quote in the notebook).
    let citation = try Regex(#"docs/(FORMATS|ANALYSIS|MODELS)\.md,? \\?"([^"\\]+)"#)
    var cited = 0
    for (path, text) in try Self.files() {
      for line in text.split(separator: "\n") where line.contains("docs/") {
        for match in line.matches(of: citation) {
          let name = String(match.output[1].substring ?? "")
          let section = String(match.output[2].substring ?? "")
          cited += 1
          #expect(headings[name]?.contains(section) == true, "\(path) cites docs/\(name).md \"\(section)\", which has no such section")
        }
      }
    }
    #expect(cited > 30, "only \(cited) citations found: is the pattern still right?")
  }

  @Test func nothingPointsOutsideTheRepositoryForDocs() throws {
    let outside = ["shared" + "/docs", "DESIGN" + ".md", "PAPER" + ".md", "SWIFT" + "-NOTES", "STYLE" + ".md"]
    for (path, text) in try Self.files() {
      for name in outside where text.contains(name) { Issue.record("\(path) refers to \(name)") }
    }
  }
}
