import Foundation
import Testing
import ZooRegistry
import ZooSupport

/// Sweeps and ingest through a real Slurm (a one-node cluster this suite starts on 127.0.0.1):
/// a task cancelled mid-run resumes when the same command is submitted again, and the merged
/// registry ends with the rows of an uninterrupted local run, each run and store once.
@Suite(.serialized, .enabled(if: SlurmCluster.available, "apt-get cannot install slurm-wlm and munge here; skipping the Slurm tests"))
struct SlurmCLITests {
  static let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path

  /// Four tiny MQAR points, a few seconds each.
  static let sweep = """
    {"name": "slurm", "vocab_size": 64, "mixers": ["attention", "base_conv"], "d_models": [16],
     "learning_rates": [0.003], "tasks": [{"seq_len": 16, "num_kv_pairs": 2}, {"seq_len": 16, "num_kv_pairs": 4}],
     "layers": 1, "epochs": 16, "batch_size": 32, "train_examples": 8192, "test_examples": 64, "seed": 1}
    """

  /// Every row a run leaves in the registry that does not depend on when or where it ran.
  func rows(_ path: String) throws -> [String] {
    let registry = try Registry(path: path)
    let timing = "'train/epoch_seconds'"
    return try [
      "SELECT name, kind, mixer, status, config FROM runs ORDER BY name",
      "SELECT r.name, p.key, p.value FROM params p JOIN runs r ON r.id = p.run_id ORDER BY 1, 2",
      "SELECT r.name, m.key, m.step, m.value FROM metrics m JOIN runs r ON r.id = m.run_id WHERE m.key != \(timing) ORDER BY 1, 2, 3",
      """
      SELECT r.name, s.key, s.goal, s.min, s.max, s.last, s.last_step, s.best, s.best_step, s.count
      FROM metric_summary s JOIN runs r ON r.id = s.run_id WHERE s.key != \(timing) ORDER BY 1, 2
      """,
    ].flatMap { try registry.query($0).rows.map { $0.map(\.shellText).joined(separator: "|") } }
  }

  @Test func sweepCancelledMidRunAndResubmittedEqualsAnUninterruptedOne() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/slurm.json"
    try Self.sweep.write(toFile: file, atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: scratch.path + "/local", withIntermediateDirectories: true)
    let local = try Tool.run("zoo-train", ["sweep", file, "--jobs", "2", "--db", scratch.path + "/local/zoo.db"], in: scratch.path + "/local")
    try #require(local.status == 0, "\(local.stderr)")

    let cluster = try SlurmCluster()
    let db = scratch.path + "/cluster/zoo.db"
    let submit = ["sweep", file, "--launcher", "slurm", "--db", db, "--max-parallel", "2"]
    let dry = try Tool.run("zoo-train", submit + ["--dry-run"], in: scratch.path, environment: cluster.environment)
    try #require(dry.status == 0, "\(dry.stderr)")
    #expect(dry.stdout.contains("#SBATCH --array=0-3%2") && dry.stdout.contains("--dependency=afterany:"), "\(dry.stdout)")
    // Array task index -> run name, from the script's `case` lines.
    let arrayScript = dry.stdout.components(separatedBy: "# then").first ?? ""
    let names = arrayScript.split(separator: "\n").compactMap { line -> (Int, String)? in
      guard let match = line.firstMatch(of: /^ *(\d+)\) exec >'[^']*\/([^'\/]+)\.log'/) else { return nil }
      return (Int(match.1)!, String(match.2))
    }
    try #require(names.count == 4, "\(dry.stdout)")

    let first = try Tool.run("zoo-train", submit, in: scratch.path, environment: cluster.environment)
    try #require(first.status == 0, "\(first.stderr)")
    let arrayID = try #require(first.stdout.firstMatch(of: /job array (\d+)/)?.1, "\(first.stdout)")
    // Cancel the first task that has logged an epoch and not finished.
    let tasks = TaskRegistries(registryPath: db)
    var cancelled: (Int, String)?
    try cluster.waitFor("a task in mid-run", seconds: 120) {
      for (index, name) in names {
        guard let registry = try? tasks.open(task: name), let run = try? registry.run(named: name), run.status == .running,
          (try? registry.metrics(ofRun: name, key: "eval/accuracy").count) ?? 0 >= 1
        else { continue }
        _ = cluster.slurm("scancel", ["\(arrayID)_\(index)"])
        cancelled = (index, name)
        return true
      }
      return false
    }
    try cluster.waitUntilIdle()
    let (_, killed) = try #require(cancelled)
    let merged = try Registry(path: db)
    #expect(try merged.runStatus(named: killed) == .killed, "scancel's SIGTERM marks the run killed")
    #expect(try merged.runs().filter { $0.status == .finished }.count == 3)

    let again = try Tool.run("zoo-train", submit + ["--wait"], in: scratch.path, environment: cluster.environment)
    #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
    #expect(again.stdout.contains("4 points, 3 finished, 1 to run"), "\(again.stdout)")
    #expect(try rows(db) == rows(scratch.path + "/local/zoo.db"))
    let runs = try Registry(path: db).runs()
    #expect(runs.count == 4 && Set(runs.map(\.name)).count == 4 && runs.allSatisfy { $0.status == .finished })
    let repeated = try Tool.run("zoo-train", submit + ["--wait"], in: scratch.path, environment: cluster.environment)
    #expect(repeated.status == 0 && repeated.stdout.contains("4 finished, 0 to run"), "\(repeated.stdout)\n\(repeated.stderr)")
    cluster.stop()
  }

  @Test func ingestRunsOneShardATaskAndRecordsEveryStoreOnce() throws {
    let scratch = try Scratch()
    let shards = ["00", "01"].map { Self.sample + "/\($0).jsonl.zst" }
    let local = try Tool.run("zoo-ingest", ["--out", "local", "--db", "local.db", "--plain"] + shards, in: scratch.path)
    try #require(local.status == 0, "\(local.stderr)")
    let cluster = try SlurmCluster()
    let submit = ["--launcher", "slurm", "--out", "tokens", "--db", "zoo.db"] + shards
    let first = try Tool.run("zoo-ingest", submit, in: scratch.path, environment: cluster.environment)
    try #require(first.status == 0, "\(first.stderr)")
    #expect(first.stdout.contains("2 shard(s)"), "\(first.stdout)")
    try cluster.waitUntilIdle()
    let again = try Tool.run("zoo-ingest", submit + ["--wait"], in: scratch.path, environment: cluster.environment)
    #expect(again.status == 0, "\(again.stdout)\n\(again.stderr)")
    let registry = try Registry(path: scratch.path + "/zoo.db")
    let stores = try registry.query("SELECT path, sha256, source, source_sha256, documents, tokens, subsets, skipped FROM datasets ORDER BY path")
      .rows.map { $0.map(\.shellText) }
    #expect(stores.map { $0[0] } == ["00", "01"].map { URL(fileURLWithPath: scratch.path + "/tokens/\($0).h5").standardizedFileURL.path })
    for store in stores { #expect(store[1] == (try SHA256.hex(ofFile: store[0])), "\(store[0])") }
    let reference = try Registry(path: scratch.path + "/local.db").query(
      "SELECT source, source_sha256, documents, tokens, subsets, skipped FROM datasets ORDER BY path"
    ).rows.map { $0.map(\.shellText) }
    #expect(stores.map { Array($0[2...]) } == reference)
    cluster.stop()
  }
}
