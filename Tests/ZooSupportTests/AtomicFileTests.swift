import Foundation
import Testing

@testable import ZooSupport

@Suite struct AtomicFileTests {
  /// A fresh empty directory.
  func scratch() throws -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-atomic-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  /// The pid of a process that has exited and been reaped.
  func deadPid() throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/true")
    try process.run()
    process.waitUntilExit()
    return process.processIdentifier
  }

  @Test func temporaryNamesCarryTheWriter() throws {
    let path = AtomicFile.temporaryPath(for: "/data/out/00.h5")
    let name = URL(fileURLWithPath: path).lastPathComponent
    #expect(path.hasPrefix("/data/out/.00.h5.tmp-"))
    let writer = try #require(AtomicFile.temporaryWriter(ofFileNamed: name))
    #expect(writer.pid == getpid())
    #expect(writer.startTime == ProcessIdentity.startTime(of: getpid()))
    #expect(AtomicFile.temporaryWriter(ofFileNamed: ".a.h5.tmp-12-34")! == (12, nil))  // before start times
    #expect(AtomicFile.temporaryWriter(ofFileNamed: ".a.h5.tmp-12-0-34")! == (12, nil))  // start time unknown
    for other in ["00.h5", "a.h5.tmp-12-34-56", ".a.h5.tmp-", ".a.h5.tmp-x-1-2", ".a.h5.tmp-1-2-3-4", ".a.h5.tmp-0-1-2", ".a.tmp-1--2"] {
      #expect(AtomicFile.temporaryWriter(ofFileNamed: other) == nil, "\(other)")
    }
  }

  @Test func removesOnlyDeadWritersTemporaries() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let me = getpid()
    let start = try #require(ProcessIdentity.startTime(of: me))
    let dead = try deadPid()
    let live = ".live.h5.tmp-\(me)-\(start)-1"
    let reused = ".reused.h5.tmp-\(me)-\(start + 1)-2"  // this pid, another start time: a dead writer
    let gone = ".gone.csv.tmp-\(dead)-\(start)-3"
    let legacy = ".legacy.h5.tmp-\(dead)-4"
    let legacyLive = ".legacy-live.h5.tmp-\(me)-5"
    let others = ["00.h5", "gap.csv", ".hidden", "not.tmp-\(dead)-1-2"]
    for name in [live, reused, gone, legacy, legacyLive] + others {
      #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8)))
    }
    try FileManager.default.createDirectory(atPath: dir + "/.dir.tmp-\(dead)-1-2", withIntermediateDirectories: false)

    let removed = AtomicFile.removeStaleTemporaries(in: dir).map { URL(fileURLWithPath: $0).lastPathComponent }
    #expect(Set(removed) == [reused, gone, legacy])
    let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir))
    #expect(left == Set([live, legacyLive, ".dir.tmp-\(dead)-1-2"] + others))
    #expect(AtomicFile.removeStaleTemporaries(in: dir + "/missing").isEmpty)
  }

  @Test func writeLeavesNoTemporary() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try AtomicFile.write(Data("hello".utf8), to: dir + "/a/b.txt")
    #expect(try String(contentsOfFile: dir + "/a/b.txt", encoding: .utf8) == "hello")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/a") == ["b.txt"])
    // A failed write names the final file and leaves nothing behind.
    #expect(throws: AtomicFileError.self) { try AtomicFile.write(Data(), to: "/proc/zoo-cannot-write-here") }
    do {
      try AtomicFile.write(Data(), to: "/proc/zoo-cannot-write-here")
    } catch let error as AtomicFileError {
      #expect(error.description.hasPrefix("/proc/zoo-cannot-write-here: cannot create it: "))
    }
  }
}
