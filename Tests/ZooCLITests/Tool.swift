import Foundation
import Testing

/// Runs the built `zoo-*` executables, as a user would.
enum Tool {
  /// The directory holding the built products (next to the test bundle).
  static var productsDirectory: URL {
    var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    while url.pathComponents.count > 1 {
      url.deleteLastPathComponent()
      if FileManager.default.isExecutableFile(atPath: url.appendingPathComponent("zoo-ingest").path) { return url }
    }
    return packageRoot.appendingPathComponent(".build/debug")
  }

  /// The package root (two levels above this file's directory).
  static var packageRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  /// `../shared` beside the package, when present.
  static var shared: URL? {
    let url = packageRoot.deletingLastPathComponent().appendingPathComponent("shared")
    return FileManager.default.fileExists(atPath: url.path) ? url : nil
  }

  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// Runs `name` with `arguments` in `directory`, with standard input closed.
  static func run(_ name: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]) throws -> Output {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    // Read both pipes concurrently so neither fills up and blocks the child.
    let errData = UncheckedBox<Data>()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { errData.value = err.fileHandleForReading.readDataToEndOfFile() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData.value ?? Data(), as: UTF8.self))
  }

  /// Starts `name` like ``run(_:_:in:environment:)`` (output discarded) and sends it `signal`
  /// (SIGKILL) after `seconds`; returns true when the signal found it still running and ended it.
  static func runKilled(
    _ name: String, _ arguments: [String], in directory: String, environment: [String: String] = [:], after seconds: Double,
    signal: Int32 = SIGKILL
  ) throws -> Bool {
    let process = Process()
    process.executableURL = productsDirectory.appendingPathComponent(name)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { usleep(2_000) }
    let killed = process.isRunning && kill(process.processIdentifier, signal) == 0
    process.waitUntilExit()
    // SIGTERM is handled (checkpoint, exit 130); SIGKILL cannot be.
    return killed && (signal == SIGKILL ? process.terminationReason == .uncaughtSignal : process.terminationStatus == 130)
  }

  /// Runs `name` and returns its output with the wall-clock seconds it took.
  static func timed(_ name: String, _ arguments: [String], in directory: String, environment: [String: String] = [:]) throws
    -> (output: Output, seconds: Double)
  {
    let start = Date()
    let output = try run(name, arguments, in: directory, environment: environment)
    return (output, Date().timeIntervalSince(start))
  }

  /// True when `python3 -c "import <module>"` succeeds.
  static func pythonHas(_ module: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", "import \(module)"]
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
  }
}

/// A mutable box for a value filled on another thread before a `DispatchGroup.wait()`.
final class UncheckedBox<T>: @unchecked Sendable {
  var value: T?
}

/// A temporary directory removed when released.
final class Scratch {
  let path: String
  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-cli-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}
