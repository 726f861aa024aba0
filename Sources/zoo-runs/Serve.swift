import ArgumentParser
import Foundation
import ZooDashboard
import ZooRegistry
import ZooSupport

extension ZooRunsCommand {
  struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Serve a read-only dashboard of the registry over HTTP (runs, curves, analyses, MQAR, queries).",
      discussion: """
        Opens the registry read-only on every request, so it keeps serving while runs write to it.
        Binds 127.0.0.1 unless --host says otherwise. Port 0 picks a free port; the URL is printed.
        """)
    @OptionGroup var registry: RegistryOptions
    @Option(help: "Address to bind (anything but 127.0.0.1 exposes the registry to the network).") var host = "127.0.0.1"
    @Option(help: "Port (0: any free port).") var port: UInt16 = 8765
    @Option(help: "Directory of .sql files for the queries and MQAR pages.") var queries = "queries"

    func run() throws {
      let path = Registry.resolvePath(registry.db)
      if !FileManager.default.fileExists(atPath: path) {
        writeStandardError("zoo-runs: warning: no registry at \(path) yet; pages will say so until it exists\n")
      }
      if host != "127.0.0.1" {
        writeStandardError("zoo-runs: warning: listening on \(host), not loopback: anyone who can reach it can read the registry\n")
      }
      let dashboard = Dashboard(databasePath: path, queriesDirectory: queries)
      let done = DispatchSemaphore(value: 0)
      let failure = UncheckedError()
      let host = host, port = port
      Task {
        do {
          let (_, bound) = try await DashboardServer.start(dashboard, host: host, port: port)
          FileHandle.standardOutput.write(Data("zoo-runs: serving \(path) read-only at http://\(host):\(bound)/\n".utf8))
        } catch {
          failure.error = error
          done.signal()
        }
      }
      done.wait()
      writeStandardError("zoo-runs: cannot serve on \(host):\(port): \(failure.error.map { "\($0)" } ?? "stopped")\n")
      throw ExitCode(1)
    }
  }
}

/// The error a background task hands to the blocked main thread.
final class UncheckedError: @unchecked Sendable {
  var error: (any Error)?
}
