import Foundation
import Testing
import ZooSupport

@testable import ZooRegistry

/// What a registry on a cluster needs: a journal mode for network file systems (and WAL refused
/// there), the host rule for `killed`, and a heartbeat.
@Suite struct ClusterRegistryTests {
  @Test func deleteJournalModeIsPersistentAndWALStaysTheDefault() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path, journal: .delete)
    #expect(try registry.query("PRAGMA journal_mode").rows == [[.text("delete")]])
    #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
    #expect(try Registry(path: try temporaryRegistryPath()).query("PRAGMA journal_mode").rows == [[.text("wal")]])
    #expect(NetworkFileSystem.name(containing: path) == nil)
    #expect(NetworkFileSystem.name(containing: path + "/not/yet/there.db") == nil)
  }

  /// On a real FUSE mount (bindfs), WAL is refused with the fix named, DELETE works.
  @Test(.enabled(if: FuseMount.available, "bindfs cannot mount here (apt-get install bindfs; needs /dev/fuse); skipping"))
  func walIsRefusedOnANetworkFileSystem() throws {
    let mount = try FuseMount()
    let path = mount.path + "/zoo.db"
    #expect(NetworkFileSystem.name(containing: path) == "fuse")
    #expect(throws: RegistryError.walOnNetworkFileSystem(path: path, fileSystem: "fuse")) { try Registry(path: path) }
    let message = RegistryError.walOnNetworkFileSystem(path: path, fileSystem: "fuse").description
    #expect(message.hasPrefix(path + ": ") && message.contains("ZOO_DB_JOURNAL=delete"), "\(message)")
    do {  // closed before the mount goes
      let registry = try Registry(path: path, journal: .delete)
      let run = try registry.startRun(spec("on-fuse"))
      run.logMetric(evalLoss, step: 1, value: 2)
      try run.finish(.finished)
      #expect(try Registry(path: path, journal: .delete).runStatus(named: "on-fuse") == .finished)
    }
  }

  /// A running run of another host is never judged by a local pid: it stays `running` while its
  /// heartbeat is fresh and becomes `killed` once it is older than `staleAfter`.
  @Test func runsOfOtherHostsGoStaleByHeartbeatNotByPid() throws {
    let path = try temporaryRegistryPath()
    let registry = try Registry(path: path)
    _ = try registry.startRun(spec("fresh"))
    _ = try registry.startRun(spec("stale"))
    let now = Date().timeIntervalSince1970
    try registry.database.execute(
      """
      UPDATE runs SET host = 'node-17', pid = 999999999, pid_start = 1;
      UPDATE runs SET last_seen = \(now - Registry.staleAfter + 60) WHERE name = 'fresh';
      UPDATE runs SET last_seen = \(now - Registry.staleAfter - 1) WHERE name = 'stale';
      """)
    let reopened = try Registry(path: path)
    #expect(try reopened.runStatus(named: "fresh") == .running)
    #expect(try reopened.runStatus(named: "stale") == .killed)
  }

  @Test func heartbeatKeepsLastSeenFreshUntilTheRunEnds() throws {
    let registry = try Registry(path: try temporaryRegistryPath(), journal: .delete)
    registry.heartbeatInterval = 0.05
    let run = try registry.startRun(spec("beating"))
    let started = try #require(try registry.run(named: "beating")?.lastSeen)
    Thread.sleep(forTimeInterval: 0.5)
    let beaten = try #require(try registry.run(named: "beating")?.lastSeen)
    #expect(beaten > started + 0.2)
    try run.finish(.finished)
    let ended = try #require(try registry.run(named: "beating")?.lastSeen)
    Thread.sleep(forTimeInterval: 0.3)
    #expect(try registry.run(named: "beating")?.lastSeen == ended)
  }

  @Test func unknownJournalModeInTheEnvironmentIsAnError() {
    #expect(RegistryError.unknownJournalMode("memory").description == "ZOO_DB_JOURNAL=memory: not a journal mode (wal or delete)")
  }
}

/// A directory mounted through FUSE by a `bindfs -f` child of this process, unmounted (and the
/// child gone) when released.
final class FuseMount {
  let path: String
  private let base: String
  private let daemon = Process()

  /// bindfs is installed, /dev/fuse exists, and a mount works.
  static let available: Bool = (try? FuseMount()) != nil

  init() throws {
    base = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-fuse-\(UUID())").path
    path = base + "/mount"
    for dir in [base + "/backing", path] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
    daemon.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    daemon.arguments = ["bindfs", "-f", base + "/backing", path]
    daemon.standardOutput = FileHandle.nullDevice
    daemon.standardError = FileHandle.nullDevice
    daemon.standardInput = FileHandle.nullDevice
    guard FileManager.default.fileExists(atPath: "/dev/fuse"), (try? daemon.run()) != nil else { throw CocoaError(.fileNoSuchFile) }
    let deadline = Date().addingTimeInterval(10)
    while daemon.isRunning && NetworkFileSystem.name(containing: path) != "fuse" && Date() < deadline { usleep(20_000) }
    guard daemon.isRunning, NetworkFileSystem.name(containing: path) == "fuse" else {
      unmount()
      throw CocoaError(.fileNoSuchFile)
    }
  }

  deinit { unmount() }

  private func unmount() {
    if daemon.isRunning {
      let fusermount = Process()
      fusermount.executableURL = URL(fileURLWithPath: "/usr/bin/env")
      fusermount.arguments = ["fusermount", "-u", "-z", path]  // lazily, should a file there still be open
      if (try? fusermount.run()) != nil { fusermount.waitUntilExit() }
      let deadline = Date().addingTimeInterval(5)
      while daemon.isRunning && Date() < deadline { usleep(20_000) }
      if daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
    }
    try? FileManager.default.removeItem(atPath: base)
  }
}
