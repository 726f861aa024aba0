import Dispatch
import Foundation

/// Keeps a running run's `last_seen` fresh from a timer, each beat on a connection of its own, so that a
/// reader on another host can tell a live run (which may log once an epoch) from one whose
/// process died (``Registry/staleAfter``).
final class Heartbeat: @unchecked Sendable {
  private let timer: DispatchSourceTimer

  /// Beats every `interval` seconds for the run `runID` of the registry file at `path`, until
  /// ``stop()`` or the run is no longer `running`.
  init(path: String, runID: Int64, interval: Double) {
    let beat = Beat(path: path, runID: runID)
    timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "zoo.registry.heartbeat"))
    timer.schedule(deadline: .now() + interval, repeating: interval)
    timer.setEventHandler { beat.run() }
    timer.resume()
  }

  /// Stops beating.
  func stop() { timer.cancel() }

  deinit { timer.cancel() }

  /// What a beat updates. Each beat opens its own short-lived connection, so that none is held
  /// open between beats (an open connection keeps a WAL file's `-wal` and `-shm` in place).
  private struct Beat: Sendable {
    let path: String
    let runID: Int64

    init(path: String, runID: Int64) {
      self.path = path
      self.runID = runID
    }

    /// A failed beat is left for the next one: the run's own writes report registry errors.
    func run() {
      guard let database = try? SQLiteDatabase(path: path) else { return }
      try? database.prepare("UPDATE runs SET last_seen = ? WHERE id = ? AND status = 'running'")
        .run([.real(Date().timeIntervalSince1970), .integer(runID)])
    }
  }
}
