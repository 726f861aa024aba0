import Foundation

/// A temporary directory removed when released.
final class TempDir {
  let path: String
  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-storage-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
  var entries: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }
  func write(_ name: String, _ bytes: [UInt8]) throws -> String {
    let p = path + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: p))
    return p
  }
}

/// Pseudo-random bytes that compress a little (text-like), deterministic in `seed`.
func textLikeBytes(_ n: Int, seed: UInt64) -> [UInt8] {
  var state = seed
  let words: [[UInt8]] = ["the ", "zoo ", "recall ", "attention ", "\n", "{\"text\": ", "42 ", "é "].map { Array($0.utf8) }
  var out: [UInt8] = []
  out.reserveCapacity(n)
  while out.count < n {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    if state >> 62 == 0 { out.append(UInt8(truncatingIfNeeded: state >> 20)) } else { out += words[Int(state >> 33) % words.count] }
  }
  return Array(out.prefix(n))
}

/// Resident set size of this process in bytes (Linux).
func residentBytes() -> Int {
  guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
  let fields = statm.split(separator: " ")
  return (fields.count > 1 ? Int(fields[1]) ?? 0 : 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}
