import ArgumentParser
import Foundation
import ZooAnalysis
import ZooRegistry
import ZooStorage
import ZooSupport

@main
struct ZooAnalyzeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-analyze",
    abstract: "Explain the perplexity gap between mixers by associative-recall (AR) hits (Zoology §3).",
    discussion: """
      The CSVs (RFC 4180, written atomically; columns in docs/FORMATS.md) are what \
      notebooks-export/figures.py plots; the definitions are in docs/ANALYSIS.md.

      Typical session:
        zoo-analyze bigrams --train tokens/00.h5 --out analysis/bigrams.bin
        zoo-analyze gap --runs attn,hyena --bigrams analysis/bigrams.bin \\
          --out analysis
        zoo-analyze mqar --out analysis
      """,
    subcommands: [Gap.self, Bigrams.self, MQAR.self])
}

extension ARContext: ExpressibleByArgument {}

/// Records a finished analysis in the registry (a failure to do so is only a warning).
func recordAnalysis(db: String?, command: String, arguments: [String: String], outputs: [String]) {
  do {
    try Registry(path: Registry.resolvePath(db)).recordAnalysis(command: command, arguments: arguments, outputs: outputs)
  } catch {
    writeStandardError("zoo-analyze: warning: not recorded in the registry: \(error)\n")
  }
}

/// Prints an error as one line and exits 1.
func fail(_ error: any Error) -> ExitCode {
  writeStandardError("zoo-analyze: \(error)\n")
  return ExitCode(1)
}

extension ZooAnalyzeCommand {
  struct Gap: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Per-run perplexity on AR hits vs other tokens, and the share of the gap AR hits explain.",
      discussion: """
        Each run is a registry run name (its 'losses' artifact is used) or a losses.h5 path. All runs \
        must score the same token range in the same windows. Token x_i is an AR hit when the bigram \
        (x_{i-1}, x_i) occurred earlier in its window (or document, with --context document). \
        Writes gap.csv, ar_by_distance.csv, by_subset.csv and, with --bigrams, ar_by_frequency.csv.
        """)

    @Option(help: "Comma-separated runs: registry names or losses.h5 paths (first = default baseline).")
    var runs: String
    @Option(help: "Baseline run (default: the first of --runs).") var baseline: String?
    @Option(help: "Where an AR hit may look back: window (the paper) or document.") var context: ARContext = .window
    @Option(help: "The token store the losses were computed on (default: found from the loss files).")
    var tokens: String?
    @Option(help: "Bigram counts file from 'zoo-analyze bigrams' (adds ar_by_frequency.csv).") var bigrams: String?
    @Option(help: "Directory for the CSV files.") var out = "analysis"
    @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?

    func run() throws {
      let names = runs.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
      var registry: Registry?
      func lossesPath(_ name: String) throws -> String {
        let path = Registry.resolvePath(db)
        guard FileManager.default.fileExists(atPath: path) else {
          throw ValidationError("\(name) is neither a file nor a run (no registry at \(path))")
        }
        if registry == nil { registry = try Registry(path: path) }
        guard let losses = try registry!.artifacts(ofRun: name).last(where: { $0.kind == "losses" }) else {
          throw ValidationError("run '\(name)' has no losses artifact yet (has it finished?)")
        }
        return losses.path
      }
      let progress = Progress(title: "gap", total: nil)
      AtomicFile.removeStaleTemporaries(in: out, reportAs: "zoo-analyze")
      do {
        // The token store: --tokens, else the store the registry recorded with the loss file's sha256.
        var tokenStore = tokens
        if tokenStore == nil, let first = names.first {
          let losses = FileManager.default.fileExists(atPath: first) ? first : try lossesPath(first)
          let sha = try LossFileReader(path: losses).metadata.tokenStoreSHA256
          if FileManager.default.fileExists(atPath: Registry.resolvePath(db)) {
            if registry == nil { registry = try Registry(path: Registry.resolvePath(db)) }
            tokenStore = try registry!.datasetPaths(sha256: sha).first { FileManager.default.fileExists(atPath: $0) }
          }
        }
        let request = GapRequest(
          runs: names, baseline: baseline, context: context, tokens: tokenStore, bigrams: bigrams, outputDirectory: out)
        let (report, files) = try GapCommand.run(
          request, runLookup: lossesPath,
          progress: { done, total in progress.update(done: Double(done), detail: "\(done)/\(total) tokens") })
        progress.finish("gap: \(report.summaries.first?.all.tokens ?? 0) predicted tokens per run, context \(context.rawValue)")
        print(report.textTable().render(), terminator: "")
        print("CSV files:")
        for file in files { print("  \(file)") }
        recordAnalysis(
          db: db, command: "gap",
          arguments: [
            "runs": names.joined(separator: ","), "baseline": baseline ?? names[0], "context": context.rawValue,
            "tokens": tokenStore ?? "", "bigrams": bigrams ?? "",
          ], outputs: files)
      } catch let error as ValidationError {
        throw fail(Message(error.message))
      } catch {
        throw fail(error)
      }
    }
  }

  struct Bigrams: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Count bigram frequencies over training token stores, within a memory budget.",
      discussion: """
        Exact counts when the table fits --budget-mb; otherwise a count-min sketch whose estimates \
        exceed the true count by at most epsilon·N with probability 1−delta (both written to the \
        file's header and printed). Streams the stores chunk by chunk.
        """)

    @Option(parsing: .upToNextOption, help: "Training token stores (.h5).") var train: [String]
    @Option(help: "Output file.") var out = "analysis/bigrams.bin"
    @Option(help: "Memory budget for the counts, in MB.") var budgetMb = 512
    @Option(help: "Failure probability of the sketch bound (count-min mode).") var delta = 0.01
    @Flag(help: "Skip bigrams that span two documents (start with <|endoftext|>).") var withinDocuments = false
    @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?

    func validate() throws {
      if train.isEmpty { throw ValidationError("give at least one store: --train STORE.h5...") }
      if budgetMb < 1 { throw ValidationError("--budget-mb must be at least 1") }
      for path in train where !FileManager.default.fileExists(atPath: path) {
        throw ValidationError("no such token store: \(path)")
      }
    }

    func run() throws {
      let progress = Progress(title: "bigrams", total: nil)
      do {
        try AtomicFile.createParentDirectory(of: out)
        AtomicFile.removeStaleTemporaries(in: URL(fileURLWithPath: out).deletingLastPathComponent().path, reportAs: "zoo-analyze")
        let header = try BigramsCommand.run(
          stores: train, output: out, budgetBytes: budgetMb << 20, delta: delta, acrossDocuments: !withinDocuments
        ) { done, total in progress.update(done: Double(done), detail: "\(done)/\(total) tokens") }
        var line = "\(out): \(header.bigrams) bigrams, \(header.mode)"
        if let distinct = header.distinct { line += ", \(distinct) distinct" }
        if let epsilon = header.epsilon, let delta = header.delta {
          line += String(format: ", overcount <= %.3g * N with probability %.3g", epsilon, 1 - delta)
        }
        progress.finish(line)
        recordAnalysis(
          db: db, command: "bigrams",
          arguments: ["train": train.joined(separator: ","), "budget_mb": String(budgetMb), "mode": header.mode], outputs: [out])
      } catch {
        throw fail(error)
      }
    }
  }

  struct MQAR: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "mqar",
      abstract: "Export MQAR accuracy per run (mixer, d_model, seq_len, kv pairs, lr) as mqar.csv.",
      discussion: "Reads finished MQAR runs from the registry; the figure takes the best over learning rates.")

    @Option(help: "Directory for mqar.csv.") var out = "analysis"
    @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?

    func run() throws {
      let path = Registry.resolvePath(db)
      guard FileManager.default.fileExists(atPath: path) else { throw fail(Message("no registry at \(path)")) }
      do {
        let registry = try Registry(path: path)
        let result = try registry.query(
          """
          SELECT r.mixer,
            (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'd_model') AS d_model,
            (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'seq_len') AS seq_len,
            (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'num_kv_pairs') AS num_kv_pairs,
            (SELECT value FROM params p WHERE p.run_id = r.id AND p.key = 'lr') AS lr,
            s.max AS accuracy
          FROM runs r JOIN metric_summary s ON s.run_id = r.id AND s.key = 'eval/accuracy'
          WHERE r.kind = 'mqar' AND r.status = 'finished'
          ORDER BY r.mixer, CAST(d_model AS INTEGER), CAST(seq_len AS INTEGER), CAST(lr AS REAL)
          """)
        let table = CSVTable(
          header: ["mixer", "d_model", "seq_len", "num_kv_pairs", "lr", "accuracy"],
          rows: result.rows.map { row in row.map { $0.double.map { CSVTable.number($0) } ?? $0.shellText } })
        let file = URL(fileURLWithPath: out).appendingPathComponent("mqar.csv").path
        AtomicFile.removeStaleTemporaries(in: out, reportAs: "zoo-analyze")
        try table.write(to: file)
        print("\(file): \(table.rows.count) runs")
        recordAnalysis(db: db, command: "mqar", arguments: [:], outputs: [file])
      } catch {
        throw fail(error)
      }
    }
  }
}

/// A plain one-line error.
struct Message: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
