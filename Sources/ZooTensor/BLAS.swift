import COpenBLAS
import ZooSupport

/// Row-major single-precision GEMM: `C = alpha · op(A) · op(B) + beta · C`, with
/// `op(A)` of shape `m × k` and `op(B)` of shape `k × n`, on OpenBLAS's `cblas_sgemm`.
///
/// OpenBLAS itself runs single-threaded; large products are cut into a number of row or column
/// panels that depends only on the shape, and the panels run on `threads` threads. Each
/// panel is the same computation whatever thread runs it, so results are bit-identical for any
/// thread count (OpenBLAS's own threading is not: its edge tiles change with the split).
public func sgemm(
  transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
  _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, beta: Float,
  _ c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
) {
  _ = Compute.threads  // makes sure OpenBLAS was set to one thread
  guard m > 0, n > 0 else { return }
  if k == 0 {
    for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
    return
  }
  // Panels: at least 64 rows or columns each, at most 8, fixed by the shape.
  let work = m * n * k
  let splitRows = m >= n
  let dimension = splitRows ? m : n
  let panels = work < 1 << 20 ? 1 : min(8, max(1, dimension / 64))
  if panels == 1 {
    rawSgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
    return
  }
  let size = (dimension + panels - 1) / panels
  let shared = UncheckedSendable((a, b, c))
  parallelFor(panels, threads: threads) { p in
    let (a, b, c) = shared.value
    let start = p * size
    let count = min(size, dimension - start)
    guard count > 0 else { return }
    if splitRows {
      // Rows of op(A) and of C.
      let aPanel = transposeA ? a + start : a + start * lda
      rawSgemm(transposeA, transposeB, count, n, k, alpha, aPanel, lda, b, ldb, beta, c + start * ldc, ldc)
    } else {
      // Columns of op(B) and of C.
      let bPanel = transposeB ? b + start * ldb : b + start
      rawSgemm(transposeA, transposeB, m, count, k, alpha, a, lda, bPanel, ldb, beta, c + start, ldc)
    }
  }
}

@inline(__always)
private func rawSgemm(
  _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
  _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
) {
  cblas_sgemm(
    CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}
