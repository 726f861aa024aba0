import Foundation

/// Files that appear whole or not at all: write to a temporary name in the same directory,
/// then `rename(2)`, which is atomic on one file system.
public enum AtomicFile {
  /// A temporary path beside `path` (same directory, so the final rename is atomic).
  public static func temporaryPath(for path: String) -> String {
    let url = URL(fileURLWithPath: path)
    let dir = url.deletingLastPathComponent().path
    return dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
  }

  /// Writes `data` to `path` atomically, creating the parent directory if needed.
  public static func write(_ data: Data, to path: String) throws {
    try createParentDirectory(of: path)
    let tmp = temporaryPath(for: path)
    do {
      try data.write(to: URL(fileURLWithPath: tmp))
      try commit(temporary: tmp, to: path)
    } catch {
      unlink(tmp)
      throw error
    }
  }

  /// Renames a finished temporary file onto its final path.
  public static func commit(temporary: String, to path: String) throws {
    if rename(temporary, path) != 0 {
      let reason = String(cString: strerror(errno))
      throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot rename \(temporary) to \(path): \(reason)"])
    }
  }

  /// Creates the directory that will hold `path`, with intermediate directories.
  public static func createParentDirectory(of path: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent()
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }
}
