import Foundation
import Testing

/// A one-node Slurm cluster on 127.0.0.1 that a test starts and stops: `munged`, `slurmctld` and
/// `slurmd` (Debian's `slurm-wlm` and `munge`) in the foreground as this process's children, with
/// their key, sockets, state, spool and logs in a temporary directory and on free ports, so it
/// touches no system configuration and stops exactly the daemons it started. Every process is
/// started with `posix_spawn`, an empty signal mask and default handlers: a test thread blocks
/// signals, and daemons (and the jobs they start) that inherit that mask never see SIGTERM.
final class SlurmCluster {
  /// Slurm and munge are installed, or apt-get installed them now.
  static let available: Bool = {
    let tools = ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"]
    if tools.allSatisfy(FileManager.default.isExecutableFile) { return true }
    _ = run("/usr/bin/env", ["apt-get", "update", "-qq"])
    _ = run("/usr/bin/env", ["DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "slurm-wlm", "munge"])
    return tools.allSatisfy(FileManager.default.isExecutableFile)
  }()

  /// The cluster's files.
  let directory: String
  /// What a process needs to talk to this cluster (`SLURM_CONF`).
  let environment: [String: String]
  private var daemons: [pid_t] = []

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-slurm-\(UUID())").path
    for sub in ["state", "spool", "munge"] {
      try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
    }
    chmod(directory + "/munge", 0o700)
    var key = Data(count: 1024)
    for i in key.indices { key[i] = UInt8.random(in: 0...255) }
    _ = FileManager.default.createFile(atPath: directory + "/munge/key", contents: key, attributes: [.posixPermissions: 0o600])
    let (controllerPort, nodePort) = (try Self.freePort(), try Self.freePort())
    let conf = """
      ClusterName=zootest
      SlurmctldHost=localhost(127.0.0.1)
      SlurmctldPort=\(controllerPort)
      SlurmdPort=\(nodePort)
      SlurmUser=root
      SlurmdUser=root
      AuthType=auth/munge
      AuthInfo=socket=\(directory)/munge/socket
      CredType=cred/munge
      StateSaveLocation=\(directory)/state
      SlurmdSpoolDir=\(directory)/spool
      SlurmctldPidFile=\(directory)/slurmctld.pid
      SlurmdPidFile=\(directory)/slurmd.pid
      SlurmctldLogFile=\(directory)/slurmctld.log
      SlurmdLogFile=\(directory)/slurmd.log
      ProctrackType=proctrack/linuxproc
      TaskPlugin=task/none
      JobAcctGatherType=jobacct_gather/none
      AccountingStorageType=accounting_storage/none
      SwitchType=switch/none
      MpiDefault=none
      SchedulerType=sched/builtin
      SelectType=select/cons_tres
      SelectTypeParameters=CR_CPU
      ReturnToService=2
      KillWait=5
      NodeName=localhost NodeAddr=127.0.0.1 CPUs=\(ProcessInfo.processInfo.activeProcessorCount) RealMemory=1000 State=UNKNOWN
      PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP

      """
    try conf.write(toFile: directory + "/slurm.conf", atomically: true, encoding: .utf8)
    environment = ["SLURM_CONF": directory + "/slurm.conf"]
    do {
      try start(
        "/usr/sbin/munged",
        [
          "--foreground", "--force", "--socket=\(directory)/munge/socket", "--key-file=\(directory)/munge/key",
          "--log-file=\(directory)/munge/log", "--pid-file=\(directory)/munge/pid", "--seed-file=\(directory)/munge/seed",
        ], log: "munged.out")
      try waitFor("munged's socket") { FileManager.default.fileExists(atPath: self.directory + "/munge/socket") }
      try start("/usr/sbin/slurmctld", ["-D", "-i", "-f", directory + "/slurm.conf"], log: "slurmctld.out")
      try start("/usr/sbin/slurmd", ["-D", "-N", "localhost", "-f", directory + "/slurm.conf"], log: "slurmd.out")
      try waitFor("the node to be idle") { self.slurm("sinfo", ["-h", "-o", "%T"]).stdout.contains("idle") }
    } catch {
      stop()
      throw error
    }
  }

  deinit {
    stop()
    try? FileManager.default.removeItem(atPath: directory)
  }

  /// Cancels what is still queued, then sends SIGTERM to each daemon this cluster started (by its
  /// pid), and SIGKILL to one still there after 10 s.
  func stop() {
    if daemons.count == 3 {
      let jobs = slurm("squeue", ["-h", "-o", "%i"]).stdout.split(whereSeparator: \.isWhitespace).map(String.init)
      if !jobs.isEmpty {
        _ = slurm("scancel", jobs)
        try? waitFor("cancelled jobs to end", seconds: 20) { self.jobs().isEmpty }
      }
    }
    for daemon in daemons.reversed() { kill(daemon, SIGTERM) }
    let deadline = Date().addingTimeInterval(10)
    for daemon in daemons.reversed() {
      var status: Int32 = 0
      while waitpid(daemon, &status, WNOHANG) == 0 {
        if Date() > deadline { kill(daemon, SIGKILL) }
        usleep(20_000)
      }
    }
    daemons = []
  }

  /// Runs a Slurm client (`squeue`, `scancel`, `sinfo`) against this cluster.
  func slurm(_ tool: String, _ arguments: [String]) -> (status: Int32, stdout: String) {
    Self.run("/usr/bin/env", ["SLURM_CONF=\(directory)/slurm.conf", tool] + arguments)
  }

  /// Ids of the jobs queued or running (`12_3` for an array task).
  func jobs() -> [String] {
    slurm("squeue", ["-h", "-o", "%i"]).stdout.split(whereSeparator: \.isWhitespace).map(String.init)
  }

  /// Waits until no job is queued or running.
  func waitUntilIdle(seconds: Double = 180) throws {
    try waitFor("every job to end", seconds: seconds) { self.jobs().isEmpty }
  }

  /// Polls `condition` every 0.1 s for up to `seconds`.
  func waitFor(_ what: String, seconds: Double = 30, _ condition: () -> Bool) throws {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
      guard Date() < deadline else {
        let log = (try? String(contentsOfFile: directory + "/slurmctld.log", encoding: .utf8)) ?? ""
        throw ClusterError(description: "timed out waiting for \(what); slurmctld.log ends: \(log.suffix(600))")
      }
      usleep(100_000)
    }
  }

  private func start(_ daemon: String, _ arguments: [String], log: String) throws {
    let pid = Self.spawn(daemon, arguments, output: directory + "/" + log)
    guard pid > 0 else { throw ClusterError(description: "cannot start \(daemon)") }
    daemons.append(pid)
  }

  /// A TCP port on 127.0.0.1 that nothing listens on now.
  private static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw ClusterError(description: "no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// Runs a command to its end; its standard output.
  @discardableResult
  static func run(_ executable: String, _ arguments: [String]) -> (status: Int32, stdout: String) {
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-slurm-out-\(UUID())").path
    defer { unlink(output) }
    let pid = spawn(executable, arguments, output: output, errors: "/dev/null")
    guard pid > 0 else { return (-1, "") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    return ((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f), text)
  }

  /// Starts `executable` with an empty signal mask and default signal handlers, standard input
  /// from /dev/null, output to `output` (errors too, unless `errors`); its pid, or -1.
  static func spawn(_ executable: String, _ arguments: [String], output: String, errors: String? = nil) -> pid_t {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if let errors {
      posix_spawn_file_actions_addopen(&actions, 2, errors, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    } else {
      posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &all)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
    return rc == 0 ? pid : -1
  }

  struct ClusterError: Error, CustomStringConvertible {
    var description: String
  }
}
