import ArgumentParser
import Foundation
import ZooRegistry
import ZooStorage
import ZooSupport
import ZooTracking

@main
struct ZooRunsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-runs",
    abstract: "Inspect the experiment registry: runs, params, metrics, artifacts, SQL queries.",
    discussion: """
      The registry is one SQLite file (--db, else $ZOO_DB, else ./zoo.db). Runs whose process died \
      are marked 'killed' when the registry is opened. Tables print aligned on a terminal; --csv \
      gives RFC 4180 CSV for scripts.

      Examples:
        zoo-runs list
        zoo-runs show attn-d128
        zoo-runs metrics attn-d128 --key train/loss --csv > loss.csv
        zoo-runs compare attn-d128 hyena-d128
        zoo-runs query queries/mqar_accuracy_by_d_model.sql --csv
        zoo-runs export --csv registry-csv/
        zoo-runs add-losses scores/pythia-160m.h5 --name pythia-160m
        zoo-runs merge zoo.db.tasks       # the registries of Slurm tasks
        zoo-runs serve --port 8765        # then open http://127.0.0.1:8765/
      """,
    subcommands: [
      List.self, Show.self, Metrics.self, Compare.self, Delete.self, Query.self, Export.self, AddLosses.self, Merge.self,
      Serve.self,
    ])
}

/// Options every subcommand shares.
struct RegistryOptions: ParsableArguments {
  @Option(name: .long, help: "Registry file (default: $ZOO_DB or ./zoo.db).")
  var db: String?

  /// Opens the registry; a missing file is an error (reading commands never create one).
  func open() throws -> Registry {
    let path = Registry.resolvePath(db)
    guard FileManager.default.fileExists(atPath: path) else {
      throw ValidationError("no registry at \(path) (use --db or ZOO_DB, or run zoo-ingest/zoo-train first)")
    }
    return try Registry(path: path)
  }
}

/// Prints `header`/`rows` as CSV or as an aligned table.
func emit(header: [String], rows: [[String]], csv: Bool) {
  if csv {
    print(CSVTable(header: header, rows: rows).render(), terminator: "")
  } else {
    var table = TextTable(header: header)
    for row in rows { table.append(row) }
    print(table.render(), terminator: "")
  }
}

/// A metric value for display ("nan" for NaN/NULL).
func show(_ v: Double?) -> String { v.map { CSVTable.number($0, digits: 6) } ?? "nan" }

/// `json` indented, keys sorted; as it is when it does not parse.
func prettyJSON(_ json: String) -> String {
  guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
    let data = try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
  else { return json }
  return String(decoding: data, as: UTF8.self)
}

/// Runs `body`, turning registry and SQLite errors into one line on stderr and exit status 1.
func reportingErrors(_ body: () throws -> Void) throws {
  do { try body() } catch let error as TrackerError {
    writeStandardError("zoo-runs: \(error.description)\n")
    throw ExitCode(1)
  } catch let error as SQLiteError {
    writeStandardError("zoo-runs: \(error.description)\n")
    throw ExitCode(1)
  } catch let error as RegistryError {
    writeStandardError("zoo-runs: \(error.description)\n")
    throw ExitCode(1)
  }
}

extension ZooRunsCommand {
  struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List runs with their status and last metrics.")
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Only runs with this status (running, finished, failed, killed).") var status: RunStatus?
    @Option(help: "Only runs with this mixer.") var mixer: String?
    @Flag(help: "CSV instead of a table.") var csv = false

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        var rows: [[String]] = []
        for run in try registry.runs() {
          if let status, run.status != status { continue }
          if let mixer, run.mixer != mixer { continue }
          let summaries = try registry.summaries(ofRun: run.name)
          let headline = summaries.first { $0.key == "eval/loss" } ?? summaries.first { $0.key == "eval/accuracy" }
            ?? summaries.first { $0.key == "train/loss" }
          rows.append([
            run.name, run.kind, run.mixer, run.status.rawValue, run.startedAt, run.endedAt ?? "",
            headline?.key ?? "", show(headline?.last), headline.map { String($0.lastStep) } ?? "",
          ])
        }
        emit(header: ["name", "kind", "mixer", "status", "started_at", "ended_at", "metric", "last", "step"], rows: rows, csv: csv)
      }
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one run: fields, params, metric summaries, artifacts.")
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "Run name.") var name: String

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        let run = try registry.requireRun(named: name)
        var fields = TextTable(header: ["field", "value"])
        for (k, v) in [
          ("name", run.name), ("kind", run.kind), ("mixer", run.mixer), ("status", run.status.rawValue),
          ("started_at", run.startedAt), ("ended_at", run.endedAt ?? ""), ("host", run.host),
          ("pid", run.pid.map(String.init) ?? ""), ("git_commit", run.gitCommit ?? ""),
        ] { fields.append([k, v]) }
        print(fields.render())
        // Below the table, so a long config does not widen its value column.
        print("config:\n\(prettyJSON(run.config))\n")
        var params = TextTable(header: ["param", "value"])
        for p in try registry.params(ofRun: name) { params.append([p.key, p.value]) }
        print(params.render())
        var metrics = TextTable(header: ["metric", "goal", "min", "max", "last", "last_step", "best", "best_step", "points"])
        for s in try registry.summaries(ofRun: name) {
          metrics.append([
            s.key, s.goal.rawValue, show(s.min), show(s.max), show(s.last), String(s.lastStep), show(s.best),
            s.bestStep.map(String.init) ?? "", String(s.count),
          ])
        }
        print(metrics.render())
        var artifacts = TextTable(header: ["artifact", "path", "bytes", "sha256"])
        for a in try registry.artifacts(ofRun: name) { artifacts.append([a.kind, a.path, String(a.bytes), a.sha256]) }
        print(artifacts.render(), terminator: "")
      }
    }
  }

  struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a run's metric history (every logged point).")
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "Run name.") var name: String
    @Option(help: "Only this metric key (e.g. train/loss).") var key: String?
    @Flag(help: "CSV instead of a table.") var csv = false

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        let points = try registry.metrics(ofRun: name, key: key)
        if let key, points.isEmpty {
          let keys = try registry.summaries(ofRun: name).map(\.key)
          writeStandardError("zoo-runs: run '\(name)' has no metric '\(key)' (it has: \(keys.joined(separator: ", ")))\n")
          throw ExitCode(1)
        }
        emit(header: ["key", "step", "value"], rows: points.map { [$0.key, String($0.step), show($0.value)] }, csv: csv)
      }
    }
  }

  struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Compare two runs: differing params and metric summaries side by side.")
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "First run.") var a: String
    @Argument(help: "Second run.") var b: String
    @Flag(help: "CSV instead of tables (metrics only).") var csv = false

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        let runA = try registry.requireRun(named: a)
        let runB = try registry.requireRun(named: b)
        let paramsA = Dictionary(uniqueKeysWithValues: try registry.params(ofRun: a).map { ($0.key, $0.value) })
        let paramsB = Dictionary(uniqueKeysWithValues: try registry.params(ofRun: b).map { ($0.key, $0.value) })
        if !csv {
          var params = TextTable(header: ["param", a, b])
          params.append(["mixer", runA.mixer, runB.mixer])
          params.append(["status", runA.status.rawValue, runB.status.rawValue])
          for key in Set(paramsA.keys).union(paramsB.keys).sorted() where paramsA[key] != paramsB[key] {
            params.append([key, paramsA[key] ?? "-", paramsB[key] ?? "-"])
          }
          print(params.render())
        }
        let summaryA = Dictionary(uniqueKeysWithValues: try registry.summaries(ofRun: a).map { ($0.key, $0) })
        let summaryB = Dictionary(uniqueKeysWithValues: try registry.summaries(ofRun: b).map { ($0.key, $0) })
        var rows: [[String]] = []
        for key in Set(summaryA.keys).union(summaryB.keys).sorted() {
          let x = summaryA[key]
          let y = summaryB[key]
          let delta = (x?.last).flatMap { xl in (y?.last).map { $0 - xl } }
          rows.append([key, show(x?.last), show(y?.last), show(delta), show(x?.best), show(y?.best)])
        }
        emit(header: ["metric", "\(a) last", "\(b) last", "delta", "\(a) best", "\(b) best"], rows: rows, csv: csv)
      }
    }
  }

  struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Delete a run and its params, metrics and artifact records (files on disk are kept).")
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "Run name.") var name: String

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        let points = try registry.summaries(ofRun: name).reduce(0) { $0 + $1.count }
        try registry.deleteRun(named: name)
        print("deleted run '\(name)' (\(points) metric points); its files were not touched")
      }
    }
  }

  struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Run a SQL file (e.g. queries/*.sql) against the registry and print its rows.")
    @OptionGroup var registry: RegistryOptions
    @Argument(help: "A .sql file holding one SELECT statement.") var file: String
    @Flag(help: "CSV instead of a table (the same rows as sqlite3 -csv -header).") var csv = false

    func run() throws {
      let sql: String
      do { sql = try String(contentsOfFile: file, encoding: .utf8) } catch {
        writeStandardError("zoo-runs: cannot read \(file): \(error.localizedDescription)\n")
        throw ExitCode(1)
      }
      do {
        let result = try registry.open().query(sql)
        emit(header: result.columns, rows: result.rows.map { $0.map(\.shellText) }, csv: csv)
      } catch let error as SQLiteError {
        writeStandardError("zoo-runs: \(file): \(error.message)\n")
        throw ExitCode(1)
      }
    }
  }

  struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Export every registry table as CSV files into a directory (one file per table).")
    @OptionGroup var registry: RegistryOptions
    @Flag(help: "Write CSV (the only format).") var csv = false
    @Argument(help: "Output directory.") var directory: String

    func validate() throws {
      if !csv { throw ValidationError("say the format: zoo-runs export --csv DIR") }
    }

    func run() throws {
      try reportingErrors {
        let registry = try registry.open()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        AtomicFile.removeStaleTemporaries(in: directory, reportAs: "zoo-runs")
        let tables = try registry.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        for row in tables.rows {
          let table = row[0].shellText
          let result = try registry.query("SELECT * FROM \"\(table)\"")
          let path = URL(fileURLWithPath: directory).appendingPathComponent(table + ".csv").path
          try CSVTable(header: result.columns, rows: result.rows.map { $0.map(\.shellText) }).write(to: path)
          print("\(path): \(result.rows.count) rows")
        }
      }
    }
  }
}

extension ZooRunsCommand {
  struct AddLosses: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "add-losses",
      abstract: "Register a per-token loss file (e.g. from zoo-score) as a finished run of kind 'scored'.",
      discussion: """
        FILE must be a zoo.losses.v1 file (zoo-score, zoo-train lm, or any writer of the contract). The
        run gets the file as its 'losses' artifact (absolute path, size, sha256), the metric
        eval/loss (mean of the non-NaN losses), the file's model JSON as its config, and params from
        it (its scalar entries, plus seq_len, range_start, range_end, token_store). Then
        'zoo-analyze gap --runs NAME,...' finds it by name. Adding the same file under the same name
        again changes nothing; another file under an existing name is an error. Creates the
        registry if there is none.
        """)
    @Option(name: .long, help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?
    @Argument(help: "The losses.h5 file.") var file: String
    @Option(help: "Run name (unique in the registry).") var name: String

    func run() throws {
      do {
        let reader = try LossFileReader(path: file)
        let metadata = reader.metadata
        var total = 0.0
        var count = 0
        var start = 0
        while start < reader.count {
          let end = min(start + (1 << 20), reader.count)
          for loss in try reader.readLosses(start..<end) where !loss.isNaN {
            total += Double(loss)
            count += 1
          }
          start = end
        }
        let mean = count == 0 ? Double.nan : total / Double(count)
        var params = Self.scalars(ofJSON: metadata.modelJSON)
        params["seq_len"] = String(metadata.seqLen)
        params["range_start"] = String(metadata.rangeStart)
        params["range_end"] = String(metadata.rangeEnd)
        params["token_store"] = metadata.tokenStore
        let mixer = params["class"] ?? params["mixer"] ?? ""
        let spec = RunSpec(name: name, kind: .scored, mixer: mixer, configJSON: metadata.modelJSON, params: params)
        let registry = try Registry(path: Registry.resolvePath(db))
        let artifact = try ArtifactRecord(kind: "losses", file: file)
        switch try registry.addFinishedRun(spec, metrics: [Metric("eval/loss", goal: .min): mean], artifact: artifact) {
        case .added:
          print("registered '\(name)' (scored, \(count) predicted tokens, eval/loss \(show(mean))): \(artifact.path)")
        case .unchanged:
          print("'\(name)' is already registered with \(artifact.path); nothing changed")
        }
      } catch let error as StorageError {
        writeStandardError("zoo-runs: \(error.description)\n")
        throw ExitCode(1)
      } catch let error as TrackerError {
        writeStandardError("zoo-runs: \(error.description)\n")
        throw ExitCode(1)
      } catch let error as SQLiteError {
        writeStandardError("zoo-runs: \(error.description)\n")
        throw ExitCode(1)
      }
    }

    /// The top-level string and number entries of a JSON object, as text.
    static func scalars(ofJSON json: String) -> [String: String] {
      guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return [:] }
      var out: [String: String] = [:]
      for (key, value) in object {
        switch value {
        case let string as String: out[key] = string
        case let number as NSNumber: out[key] = number.stringValue
        default: continue
        }
      }
      return out
    }
  }
}

extension RunStatus: ExpressibleByArgument {}
