import Foundation

/// Files that appear whole or not at all: write to a temporary name in the same directory,
/// then `rename(2)`, which is atomic on one file system.
///
/// A temporary name says who writes it: `.<name>.tmp-<pid>-<start>-<random>`, `start` being the
/// writer's start time (``ProcessIdentity/startTime(of:)``, 0 where unknown). A process killed
/// with SIGKILL leaves its temporary behind; ``removeStaleTemporaries(in:)`` recognises those of
/// dead writers and deletes them, and every command that writes into a directory calls it first.
public enum AtomicFile {
  /// A temporary path beside `path` (same directory, so the final rename is atomic).
  public static func temporaryPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    let pid = getpid()
    let start = ProcessIdentity.startTime(of: pid) ?? 0
    return dir + "/." + url.lastPathComponent + ".tmp-\(pid)-\(start)-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// The writer of a temporary file named by ``temporaryPath(for:)``: its pid and start time
  /// (nil when unknown: a name from before start times were recorded, `.<name>.tmp-<pid>-<n>`,
  /// or a start time of 0). Nil for any other name.
  public static func temporaryWriter(ofFileNamed name: String) -> (pid: Int32, startTime: Int64?)? {
    guard name.hasPrefix("."), let marker = name.range(of: ".tmp-", options: .backwards) else { return nil }
    let fields = name[marker.upperBound...].split(separator: "-", omittingEmptySubsequences: false)
    guard fields.count == 2 || fields.count == 3, fields.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) }),
      let pid = Int32(fields[0]), pid > 0, fields.dropFirst().allSatisfy({ UInt64($0) != nil })
    else { return nil }
    let start = fields.count == 3 ? Int64(fields[1]).flatMap { $0 > 0 ? $0 : nil } : nil
    return (pid, start)
  }

  /// Deletes the temporary files in `directory` whose writer is gone (its pid is not running, or
  /// runs with another start time: a reused pid). Files of live writers and every other file are
  /// left alone; a missing directory is not an error. With `tool`, each removal is reported on
  /// standard error as `tool: removed PATH (left by a killed writer)`. With `finalNames`, only the
  /// temporaries of those files are looked at (a Slurm task sharing the directory with tasks on
  /// other hosts, whose pids mean nothing here). Returns the paths removed.
  @discardableResult
  public static func removeStaleTemporaries(
    in directory: String, of finalNames: Set<String>? = nil, reportAs tool: String? = nil
  ) -> [String] {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
    var removed: [String] = []
    for name in names.sorted() {
      if let finalNames, !finalNames.contains(where: { name.hasPrefix(".\($0).tmp-") }) { continue }
      guard let writer = temporaryWriter(ofFileNamed: name),
        !ProcessIdentity.isAlive(pid: writer.pid, startTime: writer.startTime)
      else { continue }
      let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
      var info = stat()
      guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
      guard unlink(path) == 0 else { continue }
      removed.append(path)
      if let tool { writeStandardError("\(tool): removed \(path) (left by a killed writer)\n") }
    }
    return removed
  }

  /// Writes `data` to `path` atomically, creating the parent directory if needed. A failure
  /// (a full disk: ENOSPC) leaves nothing behind and throws ``AtomicFileError`` naming `path`.
  public static func write(_ data: Data, to path: String) throws {
    try createParentDirectory(of: path)
    let tmp = temporaryPath(for: path)
    do {
      try writeWhole(data, to: tmp, reported: path)
      try commit(temporary: tmp, to: path)
    } catch {
      unlink(tmp)
      throw error
    }
  }

  /// Creates `tmp`, writes all of `data` and closes it, reporting errors under `reported`.
  private static func writeWhole(_ data: Data, to tmp: String, reported: String) throws {
    let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw AtomicFileError(path: reported, operation: "cannot create it", errno: errno) }
    var failure: AtomicFileError?
    data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
      var offset = 0
      while offset < buffer.count {
        let n = systemWrite(fd, buffer.baseAddress! + offset, buffer.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          failure = AtomicFileError(path: reported, operation: "cannot write it", errno: errno)
          return
        }
        offset += n
      }
    }
    if close(fd) != 0, failure == nil { failure = AtomicFileError(path: reported, operation: "cannot write it", errno: errno) }
    if let failure { throw failure }
  }

  /// Renames a finished temporary file onto its final path.
  public static func commit(temporary: String, to path: String) throws {
    if rename(temporary, path) != 0 {
      throw AtomicFileError(path: path, operation: "cannot rename \(temporary) onto it", errno: errno)
    }
  }

  /// Creates the directory that will hold `path`, with intermediate directories.
  public static func createParentDirectory(of path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }
}

/// `write(2)` (inside ``AtomicFile`` the name is taken by its own `write`).
private func systemWrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  #if canImport(Glibc)
    Glibc.write(fd, bytes, count)
  #else
    Darwin.write(fd, bytes, count)
  #endif
}

/// A failed atomic write, one line naming the file: `PATH: cannot write it: No space left on device`.
public struct AtomicFileError: Error, CustomStringConvertible, Equatable {
  /// The file that was being written.
  public var path: String
  /// What failed.
  public var operation: String
  /// The system's reason (`strerror`).
  public var reason: String

  /// An error from a failed system call's `errno`.
  public init(path: String, operation: String, errno code: Int32) {
    self.path = path
    self.operation = operation
    reason = String(cString: strerror(code))
  }

  /// The one-line message.
  public var description: String { "\(path): \(operation): \(reason)" }
}
