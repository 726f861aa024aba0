import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport
import ZooTracking

/// `zoo-bench registry`: logs metric points into a registry run as a trainer does (one point per
/// key per step, batched writes) and reports points per second. Several of these pointed at one
/// file at once is also how the tests check concurrent writers.
struct RegistryBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "registry",
    abstract: "Log N metric points into one run and report points/s (release build).",
    discussion: """
      Example:
        .build/release/zoo-bench registry --points 100000 --db /tmp/bench.db
      """)

  @Option(help: "Registry file (created; an existing file is reused).") var db = "zoo-bench-registry.db"
  @Option(name: .customLong("run"), help: "Run name (default: bench-<pid>).") var runName: String?
  @Option(help: "Metric points to log.") var points = 100_000
  @Option(help: "Metric keys per step (points are spread over them).") var keys = 4
  @Option(help: "Seconds to sleep between steps (to simulate a trainer; 0 = none).") var stepSleep = 0.0

  func validate() throws {
    if points < 0 || keys < 1 { throw ValidationError("--points must be >= 0 and --keys >= 1") }
  }

  func run() throws {
    let registry = try Registry(path: db)
    let name = runName ?? "bench-\(getpid())"
    let tracker = try registry.startRun(
      RunSpec(name: name, kind: .lm, mixer: "none", configJSON: "{}", params: ["points": String(points)]))
    let metrics = (0..<keys).map { Metric("bench/metric\($0)", goal: .min) }
    let clock = ContinuousClock()
    let start = clock.now
    var logged = 0
    var step = 0
    while logged < points {
      for metric in metrics where logged < points {
        tracker.logMetric(metric, step: step, value: 1.0 / Double(step + 1))
        logged += 1
      }
      step += 1
      if stepSleep > 0 { Thread.sleep(forTimeInterval: stepSleep) }
    }
    try tracker.finish(.finished)
    let elapsed = (clock.now - start).components
    let seconds = Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    print("registry: \(logged) metric points in \(String(format: "%.3f", seconds)) s = \(Int(Double(logged) / max(seconds, 1e-9))) points/s (run \(name), \(db))")
  }
}
