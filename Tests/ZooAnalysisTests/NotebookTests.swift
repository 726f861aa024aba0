import Foundation
import Testing
import ZooAnalysis
import ZooSupport

/// `notebooks-export/figures.py` and its notebook twin.
@Suite struct NotebookTests {
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
  static let script = root.appendingPathComponent("notebooks-export/figures.py").path

  /// Whether `python3` with matplotlib is available.
  static let hasMatplotlib: Bool = {
    (try? run(["python3", "-c", "import matplotlib"]).status) == 0
  }()

  static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, output)
  }

  @Test func notebookCellsAreTheScript() throws {
    let notebook = Self.root.appendingPathComponent("notebooks-export/figures.ipynb")
    let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: notebook)) as? [String: Any])
    let cells = try #require(json["cells"] as? [[String: Any]])
    let code = cells.map { ($0["source"] as? [String] ?? []).joined() }.joined()
    #expect(code == (try String(contentsOfFile: Self.script, encoding: .utf8)), "figures.ipynb and figures.py differ")
  }

  @Test(.enabled(if: hasMatplotlib, "python3 with matplotlib is not installed: figures.py not run"))
  func scriptDrawsEveryFigureFromAnalyzeCSVs() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-figures-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var bigrams = BigramCounts(budgetBytes: 1 << 16)
    for _ in 0..<15 { bigrams.add(key: BigramCounts.key(1, 2)) }
    let result = try GapAnalysis.run(
      tokens: HandExample.store, losses: [HandExample.attn, HandExample.conv], options: GapAnalysisOptions(bigrams: bigrams))
    _ = try GapReport(result: result).write(to: dir)
    var mqar = CSVTable(header: ["mixer", "d_model", "seq_len", "num_kv_pairs", "lr", "accuracy"])
    for (mixer, d, n, accuracy) in [("attention", 64, 64, 0.99), ("base_conv", 64, 64, 0.6), ("base_conv", 128, 64, 0.9)] {
      mqar.append([mixer, String(d), String(n), "4", "0.001", CSVTable.number(accuracy)])
    }
    try mqar.write(to: dir + "/mqar.csv")

    let (status, output) = try Self.run(["python3", Self.script, dir, "--out", dir + "/png"])
    #expect(status == 0, "figures.py failed: \(output)")
    for name in ["ar_vs_other", "ar_by_frequency", "ar_by_distance", "mqar_accuracy"] {
      let data = FileManager.default.contents(atPath: "\(dir)/png/\(name).png") ?? Data()
      #expect(data.count > 1000 && data.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]), "\(name).png missing or not a PNG")
    }
  }
}
