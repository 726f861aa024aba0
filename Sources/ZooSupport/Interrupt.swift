import Synchronization

#if canImport(Glibc)
  import Glibc
#else
  import Darwin
#endif

/// Ctrl-C handling for long commands: the first SIGINT (or SIGTERM) sets a flag that the work
/// loop checks at safe points (between batches, between steps) so it can finish cleanly —
/// remove temporary files, save a checkpoint, mark the run. A second signal exits at once.
public enum Interrupt {
  private static let flag = Atomic<Bool>(false)

  /// Installs the handlers for SIGINT and SIGTERM, and unblocks both: a signal mask is inherited
  /// across exec, and a parent that blocked them (some test runners do) would leave them pending.
  public static func install() {
    let handler: @convention(c) (Int32) -> Void = { _ in
      if Interrupt.flag.exchange(true, ordering: .relaxed) { _exit(130) }
    }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// True once a signal arrived.
  public static var requested: Bool { flag.load(ordering: .relaxed) }

  /// Sets or clears the flag (for tests, and for commands that handle one interrupt and go on).
  public static func set(_ value: Bool) { flag.store(value, ordering: .relaxed) }
}
