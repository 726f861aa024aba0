import ArgumentParser
import Foundation
import ZooDashboard
import ZooRegistry
import ZooSupport
import ZooTracking

/// `zoo-bench serve`: fills a registry in a temporary directory with many runs and metric points
/// (through the registry's batched writer), serves it on a loopback port and times the runs page,
/// one run page and a 4-run compare (median of several requests).
struct ServeBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve",
    abstract: "Time the dashboard's pages on a big registry (default 1,000 runs, 10M points; release build).",
    discussion: """
      Targets: runs page <= 200 ms, run page <= 300 ms, compare of 4 runs <= 400 ms.
      Example:
        .build/release/zoo-bench serve
      """)

  @Option(help: "Runs to create.") var runs = 1_000
  @Option(help: "Metric points in all (spread evenly over runs and keys).") var points = 10_000_000
  @Option(help: "Metric keys per run.") var keys = 5
  @Option(help: "Requests per page (the median is reported).") var repeats = 5

  func validate() throws {
    if runs < 4 || keys < 1 || points < runs * keys || repeats < 1 {
      throw ValidationError("need --runs >= 4, --keys >= 1, --points >= runs * keys, --repeats >= 1")
    }
  }

  func run() throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bench-serve-\(getpid())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("zoo.db").path
    let clock = ContinuousClock()
    let fillStart = clock.now
    let steps = points / (runs * keys)
    let mixers = ["attention", "hyena", "based", "mamba"]
    do {
      let registry = try Registry(path: path)
      for r in 0..<runs {
        let run = try registry.startRun(
          RunSpec(
            name: "run-\(String(format: "%04d", r))", kind: .mqar, mixer: mixers[r % mixers.count], configJSON: "{}",
            params: ["d_model": String(64 << (r % 4)), "seq_len": "256", "num_kv_pairs": "16", "lr": String(1e-3 * Double(1 + r % 3))]))
        for step in 0..<steps {
          for k in 0..<keys {
            run.logMetric(k == 0 ? Metric("eval/accuracy", goal: .max) : Metric("train/metric\(k)", goal: .min), step: step, value: sin(Double(step * (k + 1)) / 97) + Double(r) / 1000)
          }
        }
        try run.finish(.finished)
      }
    }
    let filled = seconds(clock.now - fillStart)
    let logged = runs * keys * steps
    print("serve: filled \(runs) runs, \(logged) metric points in \(String(format: "%.1f", filled)) s")

    let dashboard = Dashboard(databasePath: path, queriesDirectory: directory.path)
    let box = PortBox()
    let ready = DispatchSemaphore(value: 0)
    Task {
      do {
        box.result = .success(try await DashboardServer.start(dashboard, host: "127.0.0.1", port: 0).port)
      } catch {
        box.result = .failure(error)
      }
      ready.signal()
    }
    ready.wait()
    let port = try box.result!.get()
    let names = [0, runs / 3, 2 * runs / 3, runs - 1].map { "run-\(String(format: "%04d", $0))" }
    let pages = [
      ("runs page", "/", 200.0),
      ("run page", "/run?name=\(names[1])", 300.0),
      ("compare of 4 runs", "/compare?" + names.map { "run=\($0)" }.joined(separator: "&"), 400.0),
    ]
    for (label, target, limit) in pages {
      var times: [Double] = []
      var bytes = 0
      for _ in 0...repeats {  // the first request warms the page cache and is not counted
        let start = clock.now
        let reply = try LoopbackClient.get(target, port: port)
        guard reply.status == 200 else { throw ValidationError("\(target) answered \(reply.status)") }
        times.append(seconds(clock.now - start) * 1000)
        bytes = reply.body.count
      }
      let median = times.dropFirst().sorted()[repeats / 2]
      print(
        "serve: \(label): median \(String(format: "%.1f", median)) ms over \(repeats) requests (\(bytes) bytes; target <= \(Int(limit)) ms\(median <= limit ? "" : ", MISSED"))")
    }
  }

  private func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }
}

/// The server's port, handed from the task that starts it to the blocked main thread.
final class PortBox: @unchecked Sendable {
  var result: Result<UInt16, any Error>?
}
