import Foundation
import Testing
import ZooRegistry
import ZooSupport

@Suite struct SweepCLITests {
  /// A two-point sweep runs both points (two jobs), a re-run skips them, and zoo-analyze mqar
  /// exports them; the checked-in sweep files parse.
  @Test func sweepRunsSkipsFinishedAndExports() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/tiny.json"
    try """
      {"name": "tiny", "vocab_size": 128, "mixers": ["attention", "based"], "d_models": [16],
       "learning_rates": [0.003], "tasks": [{"seq_len": 32, "num_kv_pairs": 2}], "layers": 1, "epochs": 2,
       "batch_size": 32, "train_examples": 256, "test_examples": 64, "seed": 1}
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let db = scratch.path + "/zoo.db"
    let first = try Tool.run("zoo-train", ["sweep", file, "--jobs", "2", "--db", db], in: scratch.path)
    #expect(first.status == 0, "\(first.stdout)\n\(first.stderr)")
    #expect(first.stdout.contains("2 to run"))
    let registry = try Registry(path: db)
    for name in ["tiny-attention-d16-lr3e-3-L32-kv2", "tiny-based-d16-lr3e-3-L32-kv2"] {
      #expect(try registry.runStatus(named: name) == .finished)
      #expect(try registry.params(ofRun: name).contains { $0.key == "num_kv_pairs" && $0.value == "2" })
    }
    let again = try Tool.run("zoo-train", ["sweep", file, "--db", db], in: scratch.path)
    #expect(again.status == 0 && again.stdout.contains("2 finished, 0 to run"), "\(again.stdout)")

    let export = try Tool.run("zoo-analyze", ["mqar", "--out", "analysis", "--db", db], in: scratch.path)
    #expect(export.status == 0, "\(export.stderr)")
    let rows = CSVTable.parse(try String(contentsOfFile: scratch.path + "/analysis/mqar.csv", encoding: .utf8))
    #expect(rows.first == ["mixer", "d_model", "seq_len", "num_kv_pairs", "lr", "accuracy"])
    #expect(rows.count == 3)

    let committed = try FileManager.default.contentsOfDirectory(atPath: Tool.packageRoot.appendingPathComponent("sweeps").path)
    #expect(committed.contains("fig2-cpu.json"))
    for sweep in committed where sweep.hasSuffix(".json") {
      let path = Tool.packageRoot.appendingPathComponent("sweeps/" + sweep).path
      let dry = try Tool.run("zoo-train", ["sweep", path, "--dry-run", "--db", scratch.path + "/dry.db"], in: scratch.path)
      #expect(dry.status == 0, "\(sweep): \(dry.stderr)")
    }
  }

  @Test func badSweepFileIsAClearError() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/bad.json"
    try #"{"name": "bad", "mixers": []}"#.write(toFile: file, atomically: true, encoding: .utf8)
    let out = try Tool.run("zoo-train", ["sweep", file, "--db", scratch.path + "/zoo.db"], in: scratch.path)
    #expect(out.status == 1 && out.stderr.contains("bad.json"), "\(out.stderr)")
  }

  /// The sbatch scripts a Slurm sweep would submit, without a Slurm: one task a pending point,
  /// each writing its own registry, then the dependent merge.
  @Test func slurmDryRunPrintsTheArrayAndTheMergeJob() throws {
    let scratch = try Scratch()
    let file = scratch.path + "/tiny.json"
    try """
      {"name": "tiny", "vocab_size": 128, "mixers": ["attention", "based"], "d_models": [16],
       "learning_rates": [0.003], "tasks": [{"seq_len": 32, "num_kv_pairs": 2}], "layers": 1, "epochs": 2,
       "batch_size": 32, "train_examples": 256, "test_examples": 64, "seed": 1}
      """.write(toFile: file, atomically: true, encoding: .utf8)
    let out = try Tool.run(
      "zoo-train",
      [
        "sweep", file, "--launcher", "slurm", "--db", "zoo.db", "--max-parallel", "1", "--partition", "cpu", "--time", "0:10:00",
        "--mem", "2G", "--cpus-per-task", "2", "--sbatch-arg=--account=lab", "--dry-run",
      ], in: scratch.path)
    #expect(out.status == 0, "\(out.stderr)")
    let directory = URL(fileURLWithPath: scratch.path).standardizedFileURL.path
    for line in [
      "#SBATCH --array=0-1%1", "#SBATCH --partition=cpu", "#SBATCH --time=0:10:00", "#SBATCH --mem=2G", "#SBATCH --cpus-per-task=2",
      "#SBATCH --account=lab", "export ZOO_DB_JOURNAL='delete'", "'--db' '\(directory)/zoo.db.tasks/tiny-based-d16-lr3e-3-L32-kv2.db'",
      "'--threads' '2'", "'--resume-unfinished'", "#SBATCH --dependency=afterany:<array id>",
      "'merge' '--db' '\(directory)/zoo.db' '\(directory)/zoo.db.tasks'",
    ] {
      #expect(out.stdout.contains(line), "\(line)\n\(out.stdout)")
    }
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/zoo.db.tasks"), "a dry run submits nothing")
  }
}
