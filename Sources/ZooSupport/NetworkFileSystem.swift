import CStatfs
import Foundation

/// Network and user-space file systems, told apart by `statfs(2)`'s `f_type`: those on which
/// SQLite's WAL mode (shared memory beside the file, POSIX locks) is unsafe.
public enum NetworkFileSystem {
  /// `f_type` magic numbers (linux/magic.h and the file systems' own headers) and their names.
  static let magics: [Int: String] = [
    0x6969: "nfs", 0x0BD0_0BD0: "lustre", 0x4750_4653: "gpfs", 0xFF53_4D42: "cifs", 0xFE53_4D42: "smb2",
    0x517B: "smb", 0x6573_5546: "fuse", 0x0102_1997: "9p", 0x00C3_6400: "ceph", 0x5346_414F: "afs",
    0x7461_636F: "ocfs2", 0x0116_1970: "gfs2",
  ]

  /// The name of the network file system holding `path` (or, for a path not there yet, its
  /// nearest existing parent directory); nil on a local file system or when `statfs` fails.
  public static func name(containing path: String) -> String? {
    var url = URL(fileURLWithPath: path).standardizedFileURL
    while !FileManager.default.fileExists(atPath: url.path) && url.pathComponents.count > 1 { url.deleteLastPathComponent() }
    var info = statfs()
    guard statfs(url.path, &info) == 0 else { return nil }
    return magics[Int(UInt32(truncatingIfNeeded: info.f_type))]
  }
}
