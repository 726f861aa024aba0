import Testing
import ZooSupport

@testable import ZooTensor

@Suite struct BLASDeterminismTests {
  /// ``sgemm`` cuts large products into panels fixed by the shape, so each element is computed
  /// the same way whatever the thread count. Checked on the shapes training uses, each large
  /// enough that 2 threads really share the panels.
  @Test(arguments: [(128, 2200, 16), (2200, 16, 128), (1024, 512, 128), (128, 512, 1024), (512, 50257, 128), (50257, 128, 512)])
  func sgemmIsTheSameWithOneAndTwoThreads(shape: (Int, Int, Int)) {
    let (m, n, k) = shape
    let a = randomTensor([m, k], seed: 1)
    let b = randomTensor([k, n], seed: 2)
    var results: [[Float]] = []
    for threads in [1, 2] {
      let c = Tensor(zeros: [m, n])
      let (_, splits) = ParallelSplits.counting {
        sgemm(
          transposeA: false, transposeB: false, m: m, n: n, k: k, a.value.baseAddress!, lda: k, b.value.baseAddress!, ldb: n,
          beta: 0, c.value.baseAddress!, ldc: n, threads: threads)
      }
      #expect(splits == (threads == 1 ? 0 : 1), "\(m)x\(n)x\(k) on \(threads) threads: \(splits) split calls")
      results.append(c.array)
    }
    let differing = zip(results[0], results[1]).filter { $0 != $1 }.count
    #expect(differing == 0, "\(m)x\(n)x\(k): \(differing) of \(m * n) elements differ")
  }
}
