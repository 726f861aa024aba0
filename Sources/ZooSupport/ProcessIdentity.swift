import Foundation

/// Who is running: host name, pid and the pid's start time, so the registry can tell whether the
/// process that owns a `running` run is still alive (and is the same process, not a reused pid),
/// and ``AtomicFile`` whether a temporary file's writer is.
public enum ProcessIdentity {
  /// This machine's host name.
  public static var host: String { ProcessInfo.processInfo.hostName }

  /// This process's id.
  public static var pid: Int32 { getpid() }

  /// Start time of `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`), nil where unknown.
  public static func startTime(of pid: Int32) -> Int64? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return nil }
    // Fields after the command name (which may contain spaces) start at field 3.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 19 else { return nil }
    return Int64(fields[19])
  }

  /// True when the process `pid`, started at `startTime`, still runs on this machine.
  public static func isAlive(pid: Int32, startTime: Int64?) -> Bool {
    if let now = Self.startTime(of: pid) {
      if let startTime { return now == startTime }
      return true
    }
    if FileManager.default.fileExists(atPath: "/proc/self/stat") { return false }
    return kill(pid, 0) == 0 || errno == EPERM
  }

  /// The git commit of the working directory, nil outside a repository.
  public static func gitCommit() -> String? {
    if let env = ProcessInfo.processInfo.environment["ZOO_GIT_COMMIT"], !env.isEmpty { return env }
    var directory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    for _ in 0..<32 {
      let git = directory.appendingPathComponent(".git")
      if let head = try? String(contentsOf: git.appendingPathComponent("HEAD"), encoding: .utf8) {
        let line = head.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.hasPrefix("ref: ") else { return line }
        let ref = String(line.dropFirst(5))
        if let sha = try? String(contentsOf: git.appendingPathComponent(ref), encoding: .utf8) {
          return sha.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let packed = try? String(contentsOf: git.appendingPathComponent("packed-refs"), encoding: .utf8) {
          for entry in packed.split(separator: "\n") where entry.hasSuffix(" " + ref) {
            return String(entry.prefix(while: { $0 != " " }))
          }
        }
        return nil
      }
      let parent = directory.deletingLastPathComponent()
      if parent.path == directory.path { break }
      directory = parent
    }
    return nil
  }
}
