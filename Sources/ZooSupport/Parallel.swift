import Dispatch

/// Runs `body(i)` for `i` in `0..<count` on up to `threads` threads.
///
/// Each iteration must write only outputs it owns (disjoint ranges), so results are the same
/// for any thread count. With `threads <= 1` it is a plain loop on the calling thread.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
  if threads <= 1 || count <= 1 {
    for i in 0..<count { body(i) }
    return
  }
  withoutActuallyEscaping(body) { body in
    let box = UncheckedSendable(body)
    DispatchQueue.concurrentPerform(iterations: min(threads, count)) { worker in
      var i = worker
      while i < count {
        box.value(i)
        i += threads
      }
    }
  }
}

/// A value handed across threads whose safety the caller vouches for: used only where each
/// thread writes a disjoint part of a buffer (see ``parallelFor(_:threads:_:)``).
public struct UncheckedSendable<T>: @unchecked Sendable {
  /// The wrapped value.
  public let value: T
  /// Wraps `value`.
  public init(_ value: T) { self.value = value }
}
