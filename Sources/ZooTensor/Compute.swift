import COpenBLAS
import Foundation
import Synchronization

/// The default thread count of the tensor kernels, and the per-op choice of how many to use.
///
/// Every op takes its thread count as a value (``Tape/threads``, an argument of ``sgemm`` and
/// ``AdamW/update(_:threads:)``); ``threads`` is only the default a new tape starts with, set once
/// by a command at start. Work is split over rows, panels or independent items in a way fixed by
/// the shapes, so results do not depend on the thread count (checked by the tests).
public enum Compute {
  private static let current: Atomic<Int> = {
    openblas_set_num_threads(1)
    return Atomic<Int>(1)
  }()

  /// The default thread count (of ``Tape`` and ``AdamW/update(_:threads:)``).
  public static var threads: Int { current.load(ordering: .relaxed) }

  /// Threads worth using, of `available`, for `work` elementwise operations: waking a second
  /// thread costs about as much as a few tens of thousands of simple operations, so small work
  /// stays on one thread. (Only the speed changes: results do not depend on the thread count.)
  public static func threads(_ available: Int, forWork work: Int) -> Int { work < 65_536 ? 1 : available }

  /// The OpenBLAS kernel family in use (e.g. `SkylakeX`, `Haswell`, `Prescott`).
  public static var blasCore: String { String(cString: openblas_get_corename()) }

  /// Sets the default thread count, once at a command's start (OpenBLAS stays single-threaded:
  /// ``sgemm`` splits large products into panels itself, so results do not depend on the thread count).
  public static func setThreads(_ n: Int) {
    current.store(max(1, n), ordering: .relaxed)
    openblas_set_num_threads(1)
  }
}

extension Compute {
  /// Keeps freed memory in the heap (glibc otherwise maps and unmaps every block above 128 KiB,
  /// and each training step's activations would be page-faulted in afresh). Call once at start.
  public static func keepFreedMemory() {
    _ = glibcMallopt(-3, 1 << 30)  // M_MMAP_THRESHOLD
    _ = glibcMallopt(-1, 1 << 30)  // M_TRIM_THRESHOLD
  }

  /// OpenBLAS picks its kernels from the CPU model at load time and falls back to its slowest
  /// x86-64 kernels (`Prescott`, SSE3) for models it does not know, as on these virtual machines
  /// ("Intel Xeon Processor"), costing about 4× in GEMM. The choice can only be changed before the
  /// library loads, so when the CPU supports AVX-512 or AVX2 but OpenBLAS chose otherwise, this
  /// re-executes the program with `OPENBLAS_CORETYPE` set (once: an existing setting is kept).
  public static func useFastBLASKernels() {
    guard getenv("OPENBLAS_CORETYPE") == nil else { return }
    guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
      let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
    else { return }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    let best: String
    if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) {
      best = "SkylakeX"
    } else if flags.isSuperset(of: ["avx2", "fma"]) {
      best = "Haswell"
    } else {
      return
    }
    let current = String(cString: openblas_get_corename()).lowercased()
    let good = ["skylakex", "cooperlake", "sapphirerapids", "haswell", "zen", "skylake"]
    guard !good.contains(current) else { return }
    setenv("OPENBLAS_CORETYPE", best, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)  // returns only on failure: go on as we are
  }
}

/// glibc's `mallopt` (declared in `<malloc.h>`, which the Glibc module does not import).
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
