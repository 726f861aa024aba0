import Foundation
import Testing
import ZooRegistry
import ZooSupport

/// `zoo-train mqar` stopped by SIGTERM (what a scheduler sends before it kills) saves a checkpoint
/// and marks the run killed; `--resume` continues it to the same metric history as a run never
/// stopped, and the sweep's `--resume-unfinished` does the same for a named run.
@Suite struct MQARResumeCLITests {
  static let train = [
    "mqar", "--mixer", "attention", "--d-model", "16", "--layers", "2", "--seq-len", "16", "--kv-pairs", "2", "--vocab", "64",
    "--train-examples", "2048", "--test-examples", "64", "--batch", "32", "--epochs", "8", "--lr", "3e-3",
    "--target-accuracy", "1.01", "--threads", "1", "--plain",
  ]

  static func history(_ db: String, _ run: String) throws -> [String: [Double?]] {
    let registry = try Registry(path: db)
    var out: [String: [Double?]] = [:]
    for key in ["train/loss", "eval/loss", "eval/accuracy"] { out[key] = try registry.metrics(ofRun: run, key: key).map(\.value) }
    return out
  }

  @Test func sigtermCheckpointsAndResumeEndsLikeAnUninterruptedRun() throws {
    let reference = try Scratch()
    let (straight, seconds) = try Tool.timed("zoo-train", Self.train + ["--name", "r", "--db", "zoo.db"], in: reference.path)
    try #require(straight.status == 0, "\(straight.stderr)")
    let expected = try Self.history(reference.path + "/zoo.db", "r")
    #expect(expected["eval/accuracy"]?.count == 8)

    var stopped = 0
    for fraction in [0.3, 0.7] {
      let scratch = try Scratch()
      let args = Self.train + ["--name", "r", "--db", "zoo.db"]
      guard try Tool.runKilled("zoo-train", args, in: scratch.path, after: seconds * fraction, signal: SIGTERM) else { continue }
      stopped += 1
      let registry = try Registry(path: scratch.path + "/zoo.db")
      #expect(try registry.runStatus(named: "r") == .killed)
      #expect(FileManager.default.fileExists(atPath: scratch.path + "/runs/r/checkpoint.bin"))
      // The sweep's way in: the same config and name continue the unfinished run.
      let resumed = try Tool.run("zoo-train", args + ["--resume-unfinished"], in: scratch.path)
      #expect(resumed.status == 0, "\(resumed.stderr)")
      #expect(try registry.runStatus(named: "r") == .finished)
      #expect(try Self.history(scratch.path + "/zoo.db", "r") == expected, "stopped at \(fraction) of the run")
      let again = try Tool.run("zoo-train", args + ["--resume-unfinished"], in: scratch.path)
      #expect(again.status == 0 && again.stdout.contains("already finished"), "\(again.stdout)")
    }
    #expect(stopped > 0, "no SIGTERM landed while zoo-train mqar ran")

    let scratch = try Scratch()
    let args = Self.train + ["--name", "r", "--db", "zoo.db"]
    try #require(try Tool.runKilled("zoo-train", args, in: scratch.path, after: seconds * 0.5, signal: SIGTERM))
    let resumed = try Tool.run("zoo-train", ["mqar", "--resume", "r", "--db", "zoo.db", "--plain"], in: scratch.path)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    #expect(try Self.history(scratch.path + "/zoo.db", "r") == expected)
    let other = try Tool.run("zoo-train", args.map { $0 == "3e-3" ? "1e-3" : $0 } + ["--resume-unfinished"], in: scratch.path)
    #expect(other.status == 1 && other.stderr.contains("another configuration"), "\(other.stderr)")
  }
}
