import Foundation

/// Runs child processes, at most `width` at a time, each with its output in its own log file,
/// in the order given. A Ctrl-C or SIGTERM (``Interrupt``) stops launching, passes SIGINT on to
/// the running children (which checkpoint and mark their runs) and waits for them.
public final class ProcessPool {
  /// One child process.
  public struct Job: Sendable {
    /// Identifies the job in callbacks (a run name).
    public var name: String
    public var executable: String
    public var arguments: [String]
    /// File that gets the child's stdout and stderr (created, with its directory).
    public var logPath: String

    /// A job.
    public init(name: String, executable: String, arguments: [String], logPath: String) {
      self.name = name
      self.executable = executable
      self.arguments = arguments
      self.logPath = logPath
    }
  }

  /// How a pool run ended.
  public enum Outcome: Equatable, Sendable {
    /// Every job ran (some may have failed: see their exit statuses).
    case completed
    /// A signal stopped the pool; unlaunched jobs did not run.
    case interrupted
  }

  /// Most children at a time.
  public let width: Int

  /// A pool of `width` (at least 1) processes.
  public init(width: Int) { self.width = max(1, width) }

  /// Runs `jobs`; `finished` gets each job and its exit status as it ends.
  public func run(_ jobs: [Job], finished: (Job, Int32) -> Void) throws -> Outcome {
    var running: [(Process, Job)] = []
    var queue = jobs[...]
    while !queue.isEmpty || !running.isEmpty {
      if Interrupt.requested {
        for (process, _) in running { process.interrupt() }
        for (process, _) in running { process.waitUntilExit() }
        return .interrupted
      }
      while running.count < width, let job = queue.popFirst() {
        running.append((try launch(job), job))
      }
      Thread.sleep(forTimeInterval: 0.2)
      let ended = running.filter { !$0.0.isRunning }  // one look, so none ends unreported
      running.removeAll { entry in ended.contains { $0.0 === entry.0 } }
      for (process, job) in ended { finished(job, process.terminationStatus) }
    }
    return .completed
  }

  private func launch(_ job: Job) throws -> Process {
    let log = URL(fileURLWithPath: job.logPath)
    try FileManager.default.createDirectory(at: log.deletingLastPathComponent(), withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: job.executable)
    process.arguments = job.arguments
    process.standardOutput = handle
    process.standardError = handle
    process.standardInput = FileHandle.nullDevice
    try process.run()
    return process
  }
}
