import Foundation

/// What each task of a Slurm job array asks for: sbatch's own options, as `#SBATCH` lines.
public struct SlurmResources: Sendable, Equatable {
  /// The partition (queue); nil for the cluster's default.
  public var partition: String?
  /// The time limit (`1:00:00`, `2-0`); nil for the partition's default.
  public var time: String?
  /// CPUs of each task.
  public var cpusPerTask: Int
  /// Memory of each task (`4G`); nil for the partition's default.
  public var memory: String?
  /// Most tasks running at once (the `%K` of `--array`); nil for no limit.
  public var maxParallel: Int?
  /// Further sbatch options, each an `#SBATCH` line as given (`--account=lab`, `--qos=low`).
  public var extraArguments: [String]

  /// Resources of each task.
  public init(
    partition: String? = nil, time: String? = nil, cpusPerTask: Int = 1, memory: String? = nil, maxParallel: Int? = nil,
    extraArguments: [String] = []
  ) {
    self.partition = partition
    self.time = time
    self.cpusPerTask = cpusPerTask
    self.memory = memory
    self.maxParallel = maxParallel
    self.extraArguments = extraArguments
  }
}

/// Jobs run as one Slurm job array: array task `i` runs `jobs[i]`, its own process in place of the
/// batch shell (so Slurm's SIGTERM on `scancel`, preemption or the time limit reaches it
/// directly), with its output in the job's log file.
public struct SlurmArray: Sendable {
  /// The job name (`squeue`'s NAME).
  public var name: String
  /// One job an array task.
  public var jobs: [ProcessPool.Job]
  /// What each task asks for.
  public var resources: SlurmResources
  /// Variables every task exports.
  public var environment: [String: String]
  /// Where the tasks start.
  public var workingDirectory: String
  /// sbatch's own output file for the batch shell (`%A` the array's id, `%a` the task's index).
  public var outputPath: String
  /// Slurm's dependency (`afterany:123`): the array starts once that holds.
  public var dependency: String?

  /// An array of `jobs`.
  public init(
    name: String, jobs: [ProcessPool.Job], resources: SlurmResources, environment: [String: String] = [:],
    workingDirectory: String, outputPath: String, dependency: String? = nil
  ) {
    self.name = name
    self.jobs = jobs
    self.resources = resources
    self.environment = environment
    self.workingDirectory = workingDirectory
    self.outputPath = outputPath
    self.dependency = dependency
  }

  /// The sbatch script: `#SBATCH` lines, then a `case` on `SLURM_ARRAY_TASK_ID`.
  public var script: String {
    var directives = [
      "--job-name=\(name)", "--array=0-\(max(0, jobs.count - 1))" + (resources.maxParallel.map { "%\($0)" } ?? ""),
      "--output=\(outputPath)", "--cpus-per-task=\(resources.cpusPerTask)",
    ]
    if let partition = resources.partition { directives.append("--partition=\(partition)") }
    if let time = resources.time { directives.append("--time=\(time)") }
    if let memory = resources.memory { directives.append("--mem=\(memory)") }
    if let dependency { directives.append("--dependency=\(dependency)") }
    directives += resources.extraArguments
    var lines = ["#!/bin/bash"] + directives.map { "#SBATCH \($0)" }
    lines.append("cd \(Self.quote(workingDirectory)) || exit 1")
    for key in environment.keys.sorted() { lines.append("export \(key)=\(Self.quote(environment[key]!))") }
    lines.append("case \"$SLURM_ARRAY_TASK_ID\" in")
    for (i, job) in jobs.enumerated() {
      let command = ([job.executable] + job.arguments).map(Self.quote).joined(separator: " ")
      lines.append("  \(i)) exec >\(Self.quote(job.logPath)) 2>&1; exec \(command) ;;")
    }
    lines.append("  *) echo \"no job for array task $SLURM_ARRAY_TASK_ID\" >&2; exit 2 ;;")
    lines.append("esac")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Submits the array with `sbatch` (creating the log directories first), tells `submitted` its
  /// job id as soon as sbatch prints it, and returns the id; with `wait`, returns only once every
  /// task has ended (`sbatch --wait`), and says whether every task exited with status 0.
  public func submit(wait: Bool = false, submitted: (String) -> Void = { _ in }) throws -> (jobID: String, succeeded: Bool) {
    for path in jobs.map(\.logPath) + [outputPath] {
      try FileManager.default.createDirectory(
        atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path, withIntermediateDirectories: true)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["sbatch", "--parsable"] + (wait ? ["--wait"] : [])
    let input = Pipe()
    let output = Pipe()
    let error = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = error
    // An sbatch that exits before reading the whole script must not kill this process.
    signal(SIGPIPE, SIG_IGN)
    try process.run()
    try? input.fileHandleForWriting.write(contentsOf: Data(script.utf8))
    try? input.fileHandleForWriting.close()
    let errors = UncheckedSendableBox<Data>()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errors.value = error.fileHandleForReading.readDataToEndOfFile() }
    // The id comes first, at submission (with --wait long before sbatch ends).
    var printed = Data()
    while !printed.contains(UInt8(ascii: "\n")) {
      let chunk = output.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      printed += chunk
    }
    let firstLine = String(decoding: printed.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    let id = String(firstLine.prefix { $0 != ";" })
    if !id.isEmpty, id.allSatisfy(\.isNumber) { submitted(id) }
    printed += output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let message = String(decoding: errors.value ?? Data(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if process.terminationStatus == 127 { throw SlurmError.notInstalled }
    guard !id.isEmpty, id.allSatisfy(\.isNumber) else {
      throw SlurmError.submissionFailed(
        status: process.terminationStatus, message: message.isEmpty ? String(decoding: printed, as: UTF8.self) : message)
    }
    return (id, process.terminationStatus == 0)
  }

  /// `value` in single quotes for bash.
  static func quote(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'" }
}

/// A value filled on another thread before it is read.
final class UncheckedSendableBox<T>: @unchecked Sendable {
  var value: T?
}

/// Errors submitting to Slurm.
public enum SlurmError: Error, CustomStringConvertible, Equatable {
  /// `sbatch` is not on PATH.
  case notInstalled
  /// sbatch refused the job or printed no job id.
  case submissionFailed(status: Int32, message: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .notInstalled: "sbatch not found on PATH (is this a Slurm login node?)"
    case .submissionFailed(let status, let message):
      "sbatch failed (exit status \(status)): \(message.split(whereSeparator: \.isNewline).last.map(String.init) ?? "")"
    }
  }
}

extension SlurmArray {
  /// How ``submit(then:wait:)`` went.
  public struct Submission: Sendable, Equatable {
    /// The array's job id.
    public var arrayID: String
    /// The id of the job that runs the follow-up, nil when it ran here.
    public var followID: String?
    /// With waiting: whether every task and then the follow-up exited with status 0.
    public var succeeded: Bool?
  }

  /// Submits the array (telling `submitted` its id) and, after it, `follow` (a merge of what the
  /// tasks wrote): with `wait`, waits for every task and runs `follow` here, its output on this
  /// process's; else submits it as a one-task job that starts once the array has ended, however
  /// its tasks ended (`--dependency=afterany`).
  public func submit(then follow: ProcessPool.Job, wait: Bool, submitted: (String) -> Void = { _ in }) throws -> Submission {
    let array = try submit(wait: wait, submitted: submitted)
    if wait {
      let process = Process()
      process.executableURL = URL(fileURLWithPath: follow.executable)
      process.arguments = follow.arguments
      process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory)
      process.standardInput = FileHandle.nullDevice
      try process.run()
      process.waitUntilExit()
      return Submission(arrayID: array.jobID, followID: nil, succeeded: array.succeeded && process.terminationStatus == 0)
    }
    let job = followJob(follow, after: array.jobID)
    return Submission(arrayID: array.jobID, followID: try job.submit().jobID, succeeded: nil)
  }

  /// The one-task job that runs `follow` once the array `id` has ended, in the submitter's
  /// environment (not the tasks' `environment`).
  public func followJob(_ follow: ProcessPool.Job, after id: String) -> SlurmArray {
    var resources = resources
    resources.cpusPerTask = 1
    resources.memory = nil
    resources.maxParallel = nil
    return SlurmArray(
      name: name + "-" + follow.name, jobs: [follow], resources: resources,
      workingDirectory: workingDirectory, outputPath: follow.logPath, dependency: "afterany:\(id)")
  }
}
