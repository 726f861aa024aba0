import COpenBLAS
import Synchronization

/// How many threads the tensor kernels use (our loops and OpenBLAS alike).
///
/// Work is split over rows or independent items, and BLAS splits its output across threads, so
/// results do not depend on the thread count (checked by the tests).
public enum Compute {
  private static let current = Atomic<Int>(1)

  /// Threads used by kernels.
  public static var threads: Int { current.load(ordering: .relaxed) }

  /// Sets the thread count for our loops and for OpenBLAS.
  public static func setThreads(_ n: Int) {
    let n = max(1, n)
    current.store(n, ordering: .relaxed)
    openblas_set_num_threads(Int32(n))
  }
}
