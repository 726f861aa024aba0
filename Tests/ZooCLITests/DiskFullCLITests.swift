import Foundation
#if canImport(Glibc)
  import Glibc
#endif
import Testing
import ZooRegistry
import ZooStorage
import ZooSupport

/// A full disk, on a small tmpfs each test mounts (as root; skipped where mounting is not
/// allowed): every writer fails with one line naming its file and "No space left on device",
/// leaves no partial output, and earlier complete outputs and the registry stay intact.
@Suite(.serialized, .enabled(if: SmallDisk.canMount, "cannot mount a tmpfs here (needs root); skipping the full-disk tests"))
struct DiskFullCLITests {
  static let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path
  static let shards = ["00", "01"].map { sample + "/\($0).jsonl.zst" }

  @Test func tokenStore() throws {
    let scratch = try Scratch()
    let disk = try SmallDisk(at: scratch.path + "/full", megabytes: 3)  // 00.h5 (2.1 MB) fits, 01.h5 does not
    defer { withExtendedLifetime(disk) {} }
    let env = ["ZOO_DB": disk.path + "/zoo.db"]
    let ingest = ["--out", disk.path + "/tokens", "--plain"] + Self.shards
    let out = try Tool.run("zoo-ingest", ingest, in: scratch.path, environment: env)
    #expect(out.status == 1, "\(out.stderr)")
    expectOneLine(out.stderr, naming: disk.path + "/tokens/01.h5")
    #expect(try FileManager.default.contentsOfDirectory(atPath: disk.path + "/tokens") == ["00.h5"])
    try expectNoTemporaries(disk.path)
    try expectRegistered(db: disk.path + "/zoo.db", stores: [disk.path + "/tokens/00.h5"])

    try disk.resize(megabytes: 8)
    let again = try Tool.run("zoo-ingest", ingest, in: scratch.path, environment: env)
    #expect(again.status == 0, "\(again.stderr)")
    try expectRegistered(db: disk.path + "/zoo.db", stores: ["00.h5", "01.h5"].map { disk.path + "/tokens/" + $0 })
  }

  @Test func checkpointAndLossFile() throws {
    let scratch = try Scratch()
    try ingest(scratch)
    // One checkpoint (at the end, ~9.7 MB), then a 64 KB loss file.
    func train(_ name: String, _ runs: String, _ db: String) -> [String] {
      [
        "lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", "attention", "--d-model", "16", "--layers", "1",
        "--seq-len", "32", "--batch", "4", "--steps", "6", "--checkpoint-every", "100", "--eval-tokens", "16384",
        "--threads", "1", "--name", name, "--runs-dir", runs, "--db", db, "--plain",
      ]
    }
    let reference = try Tool.run("zoo-train", train("l", "ref-runs", "ref.db"), in: scratch.path)
    try #require(reference.status == 0, "\(reference.stderr)")
    let checkpointBytes = try FileManager.default.attributesOfItem(atPath: scratch.path + "/ref-runs/l/checkpoint.bin")[.size] as! Int

    let disk = try SmallDisk(at: scratch.path + "/full", megabytes: 16)
    defer { withExtendedLifetime(disk) {} }
    let runs = disk.path + "/runs"
    // The checkpoint does not fit.
    try disk.fill(leaving: 1 << 20)
    let c = try Tool.run("zoo-train", train("c", runs, "zoo.db"), in: scratch.path)
    #expect(c.status == 1, "\(c.stderr)")
    expectOneLine(c.stderr, naming: runs + "/c/checkpoint.bin")
    #expect(try FileManager.default.contentsOfDirectory(atPath: runs + "/c").isEmpty)
    #expect(try Registry(path: scratch.path + "/zoo.db").runStatus(named: "c") == .failed)

    // The checkpoint fits, the loss file after it does not; the checkpoint stays, and once there
    // is room, --resume writes the same losses as a run that never met a full disk.
    try disk.fill(leaving: checkpointBytes + (24 << 10))
    let l = try Tool.run("zoo-train", train("l", runs, "zoo.db"), in: scratch.path)
    #expect(l.status == 1, "\(l.stderr)")
    expectOneLine(l.stderr, naming: runs + "/l/losses.h5")
    #expect(try FileManager.default.contentsOfDirectory(atPath: runs + "/l") == ["checkpoint.bin"])
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: runs + "/l/checkpoint.bin"))
        == Data(contentsOf: URL(fileURLWithPath: scratch.path + "/ref-runs/l/checkpoint.bin")))
    try expectNoTemporaries(disk.path)
    let registry = try Registry(path: scratch.path + "/zoo.db")
    #expect(try registry.query("PRAGMA integrity_check").rows.map { $0[0].shellText } == ["ok"])
    #expect(try registry.runStatus(named: "l") == .failed)

    disk.unfill()
    let resumed = try Tool.run("zoo-train", ["lm", "--resume", "l", "--runs-dir", runs, "--db", "zoo.db", "--plain"], in: scratch.path)
    #expect(resumed.status == 0, "\(resumed.stderr)")
    let losses = try LossFileReader(path: runs + "/l/losses.h5")
    let expected = try LossFileReader(path: scratch.path + "/ref-runs/l/losses.h5")
    #expect(try losses.readLosses(0..<losses.count).map(\.bitPattern) == expected.readLosses(0..<expected.count).map(\.bitPattern))
    #expect(try Registry(path: scratch.path + "/zoo.db").artifacts(ofRun: "l").map(\.kind).sorted() == ["checkpoint", "losses"])
  }

  @Test func csvAndBigramFiles() throws {
    let scratch = try Scratch()
    try ingest(scratch)
    for mixer in ["attention", "base_conv"] {
      let train = try Tool.run(
        "zoo-train",
        [
          "lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", mixer, "--d-model", "16", "--layers", "1",
          "--seq-len", "32", "--batch", "4", "--steps", "4", "--eval-tokens", "4096", "--threads", "1", "--name", mixer,
          "--plain",
        ], in: scratch.path, environment: ["ZOO_DB": scratch.path + "/zoo.db"])
      try #require(train.status == 0, "\(train.stderr)")
    }
    let disk = try SmallDisk(at: scratch.path + "/full", megabytes: 8)
    defer { withExtendedLifetime(disk) {} }
    let env = ["ZOO_DB": scratch.path + "/zoo.db"]
    let bigrams = ["bigrams", "--train", "tokens/00.h5", "--out", disk.path + "/bigrams.bin"]
    let gap = ["gap", "--runs", "attention,base_conv", "--bigrams", disk.path + "/bigrams.bin", "--out", disk.path + "/analysis"]
    // Complete outputs first, then the same commands on the full disk.
    for command in [bigrams, gap] {
      let out = try Tool.run("zoo-analyze", command, in: scratch.path, environment: env)
      try #require(out.status == 0, "\(out.stderr)")
    }
    let before = try files(disk.path)
    let analyses = try Registry(path: scratch.path + "/zoo.db").query("SELECT count(*) FROM analyses").rows[0][0].shellText
    try disk.fill(leaving: 0)

    let b = try Tool.run("zoo-analyze", bigrams, in: scratch.path, environment: env)
    #expect(b.status == 1, "\(b.stderr)")
    expectOneLine(b.stderr, naming: disk.path + "/bigrams.bin")
    let g = try Tool.run("zoo-analyze", gap, in: scratch.path, environment: env)
    #expect(g.status == 1, "\(g.stderr)")
    expectOneLine(g.stderr, naming: disk.path + "/analysis/")
    disk.unfill()
    #expect(try files(disk.path) == before, "earlier outputs changed")
    try expectNoTemporaries(disk.path)
    let registry = try Registry(path: scratch.path + "/zoo.db")
    #expect(try registry.query("SELECT count(*) FROM analyses").rows[0][0].shellText == analyses, "a failed analysis is not recorded")
  }

  @Test func registry() throws {
    let scratch = try Scratch()
    let disk = try SmallDisk(at: scratch.path + "/full", megabytes: 1)
    defer { withExtendedLifetime(disk) {} }
    let db = disk.path + "/zoo.db"
    let first = try Tool.run("zoo-ingest", ["--db", db, "--out", "tokens", "--plain", Self.shards[0]], in: scratch.path)
    try #require(first.status == 0, "\(first.stderr)")
    try disk.fill(leaving: 0)
    let full = try Tool.run("zoo-ingest", ["--db", db, "--out", "tokens", "--plain", Self.shards[1]], in: scratch.path)
    #expect(full.status != 0, "\(full.stderr)")
    expectOneLine(full.stderr, naming: db)
    disk.unfill()
    try expectRegistered(db: db, stores: [scratch.path + "/tokens/00.h5"])
    let again = try Tool.run("zoo-ingest", ["--db", db, "--out", "tokens", "--plain", Self.shards[1]], in: scratch.path)
    #expect(again.status == 0, "\(again.stderr)")
    try expectRegistered(db: db, stores: ["00.h5", "01.h5"].map { scratch.path + "/tokens/" + $0 })
  }

  // MARK: Helpers

  func ingest(_ scratch: Scratch) throws {
    let out = try Tool.run(
      "zoo-ingest", ["--out", "tokens", "--plain"] + Self.shards, in: scratch.path, environment: ["ZOO_DB": scratch.path + "/zoo.db"])
    try #require(out.status == 0, "\(out.stderr)")
  }

  /// Exactly one line of `stderr` says the disk is full, and it names `path`.
  func expectOneLine(_ stderr: String, naming path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let lines = stderr.split(separator: "\n").filter { $0.contains("No space left on device") }
    #expect(lines.count == 1 && lines[0].contains(path), "stderr: \(stderr)", sourceLocation: sourceLocation)
  }

  func expectNoTemporaries(_ directory: String) throws {
    let all = FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []
    let temporaries = all.filter { AtomicFile.temporaryWriter(ofFileNamed: URL(fileURLWithPath: $0).lastPathComponent) != nil }
    #expect(temporaries.isEmpty, "temporaries left: \(temporaries)")
  }

  /// The registry passes `PRAGMA integrity_check` and records exactly `stores`, each with its sha256.
  func expectRegistered(db: String, stores: [String]) throws {
    let registry = try Registry(path: db)
    #expect(try registry.query("PRAGMA integrity_check").rows.map { $0[0].shellText } == ["ok"])
    let rows = try registry.query("SELECT path, sha256 FROM datasets ORDER BY path").rows.map { $0.map(\.shellText) }
    let expected = try stores.sorted().map { [URL(fileURLWithPath: $0).standardizedFileURL.path, try SHA256.hex(ofFile: $0)] }
    #expect(rows == expected)
  }

  /// Path → contents of every file under a directory (the filler excepted).
  func files(_ directory: String) throws -> [String: Data] {
    var out: [String: Data] = [:]
    for relative in FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? [] where relative != SmallDisk.filler {
      var isDirectory: ObjCBool = false
      let path = directory + "/" + relative
      if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
        out[relative] = try Data(contentsOf: URL(fileURLWithPath: path))
      }
    }
    return out
  }
}

/// A tmpfs of a few MB mounted for one test, unmounted when released.
final class SmallDisk {
  let path: String
  static let filler = "filler"

  /// Whether this process may mount a tmpfs (tried once).
  static let canMount: Bool = {
    guard getuid() == 0, let disk = try? SmallDisk(at: NSTemporaryDirectory() + "zoo-mount-\(UUID())", megabytes: 1) else { return false }
    _ = disk
    return true
  }()

  init(at path: String, megabytes: Int) throws {
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    guard SmallDisk.command("mount", "-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path) else {
      try? FileManager.default.removeItem(atPath: path)
      throw CocoaError(.fileWriteNoPermission, userInfo: [NSLocalizedDescriptionKey: "cannot mount a tmpfs at \(path)"])
    }
    self.path = path
  }

  deinit { unmount() }

  /// Unmounts (lazily when a file on it is still open) and removes the mount point.
  func unmount() {
    if !SmallDisk.command("umount", path) { _ = SmallDisk.command("umount", "-l", path) }
    rmdir(path)
  }

  /// Grows (or shrinks) the file system, keeping its files.
  func resize(megabytes: Int) throws {
    guard SmallDisk.command("mount", "-o", "remount,size=\(megabytes)m", path) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot resize \(path)"])
    }
  }

  /// Writes a filler file so that about `bytes` stay free.
  func fill(leaving bytes: Int) throws {
    unfill()
    var info = statvfs()
    guard statvfs(path, &info) == 0 else { throw CocoaError(.fileReadUnknown) }
    let free = Int(info.f_bavail) * Int(info.f_frsize)
    let size = max(0, free - bytes)
    let fd = open(path + "/" + SmallDisk.filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
    defer { close(fd) }
    let chunk = [UInt8](repeating: 0, count: 1 << 16)
    var written = 0
    while written < size || bytes == 0 {
      let n = chunk.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, min(chunk.count, bytes == 0 ? chunk.count : size - written)) }
      if n <= 0 { break }
      written += n
    }
  }

  /// Removes the filler.
  func unfill() { unlink(path + "/" + SmallDisk.filler) }

  private static func command(_ arguments: String...) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
  }
}
