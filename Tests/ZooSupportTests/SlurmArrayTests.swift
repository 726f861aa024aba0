import Foundation
import Testing

@testable import ZooSupport

@Suite struct SlurmArrayTests {
  /// Every argument reaches the task as it was, quotes and spaces included, and each task's
  /// process replaces the batch shell (so Slurm's SIGTERM reaches it).
  @Test func scriptRunsEachJobAsGivenInItsTask() throws {
    let jobs = [
      ProcessPool.Job(name: "a", executable: "/bin/echo", arguments: ["it's", "two words", "$HOME"], logPath: "/tmp/x/a.log"),
      ProcessPool.Job(name: "b", executable: "/bin/echo", arguments: ["b"], logPath: "/tmp/x/b.log"),
    ]
    let array = SlurmArray(
      name: "t", jobs: jobs, resources: SlurmResources(maxParallel: 3), environment: ["ZOO_DB_JOURNAL": "delete"],
      workingDirectory: "/tmp", outputPath: "/tmp/x/slurm-%A_%a.out")
    let script = array.script
    #expect(script.hasPrefix("#!/bin/bash\n#SBATCH --job-name=t\n#SBATCH --array=0-1%3\n"))
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-slurm-script-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let scriptPath = directory + "/job.sh"
    try script.replacingOccurrences(of: "/tmp/x/", with: directory + "/").write(toFile: scriptPath, atomically: true, encoding: .utf8)
    for (task, expected) in [("0", "it's two words $HOME\n"), ("1", "b\n")] {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/bash")
      process.arguments = [scriptPath]
      process.environment = ["SLURM_ARRAY_TASK_ID": task]
      try process.run()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0)
      let log = try String(contentsOfFile: directory + "/" + (task == "0" ? "a" : "b") + ".log", encoding: .utf8)
      #expect(log == expected)
    }
    let follow = array.followJob(jobs[1], after: "42").script
    #expect(follow.contains("#SBATCH --dependency=afterany:42\n") && follow.contains("#SBATCH --array=0-0\n"))
    #expect(!follow.contains("%3") && !follow.contains("ZOO_DB_JOURNAL"))
  }
}
