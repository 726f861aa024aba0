import Dispatch
import Synchronization

/// Runs `body(i)` for `i` in `0..<count` on up to `threads` threads.
///
/// Each iteration must write only outputs it owns (disjoint ranges), so results are the same
/// for any thread count. With `threads <= 1` it is a plain loop on the calling thread.
public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
  if threads <= 1 || count <= 1 {
    for i in 0..<count { body(i) }
    return
  }
  ParallelSplits.counter?.add()
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

/// Runs `body(range)` over `0..<count` cut into at most `threads` contiguous ranges of at least
/// `grain` elements each (one range, on the calling thread, when `count < 2·grain`): the split of
/// element-wise work, where each element's result depends only on its own index, so the bits are
/// the same for any thread count.
public func parallelRanges(_ count: Int, threads: Int, grain: Int = 1 << 15, _ body: (Range<Int>) -> Void) {
  let parts = min(threads, count / max(grain, 1))
  if parts <= 1 {
    body(0..<count)
    return
  }
  parallelFor(parts, threads: threads) { p in body((p * count / parts)..<((p + 1) * count / parts)) }
}

/// Runs `body(item, b, h)` for each batch item `b` and head `h` (`item = b·heads + h`) on up to
/// `threads` threads: the split of the attention-like ops, each head's work on one thread.
public func parallelForHeads(batch: Int, heads: Int, threads: Int, _ body: (_ item: Int, _ b: Int, _ h: Int) -> Void) {
  parallelFor(batch * heads, threads: threads) { item in body(item, item / heads, item % heads) }
}

/// Counts the ``parallelFor(_:threads:_:)`` calls that ran on more than one thread, so a test can
/// check that its work really was split (a call nested in another's body is counted only when it
/// runs on the calling thread).
public enum ParallelSplits {
  /// The counter of the current task, if any.
  @TaskLocal public static var counter: Counter?

  /// Runs `body` and returns its result with the number of its calls that ran on more than one thread.
  public static func counting<T>(_ body: () throws -> T) rethrows -> (result: T, splits: Int) {
    let counter = Counter()
    let result = try $counter.withValue(counter) { try body() }
    return (result, counter.count)
  }

  /// A thread-safe count.
  public final class Counter: Sendable {
    private let value = Mutex(0)
    public init() {}
    /// Calls counted so far.
    public var count: Int { value.withLock { $0 } }
    func add() { value.withLock { $0 += 1 } }
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
