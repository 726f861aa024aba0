import Foundation
import ZooSupport

/// The language-model head and loss in one op: `logits = x · Eᵀ` (the head tied to the token
/// embedding `E`, no bias), softmax cross-entropy against targets, mean over labeled positions.
///
/// Logits are never stored whole (`tokens × vocab` would be 1.6 GB at batch 32 × 256 × 50257):
/// rows are processed in chunks, and when gradients are wanted each chunk's `dlogits` is turned
/// into `dx` and `dE` right away (llm.c's fused classifier). So the embedding's gradient from
/// the head is accumulated during the forward call; `dx` flows on in the tape's backward.
/// Only labeled rows (target ≥ 0) are computed, which is what makes MQAR's head cheap.
public enum TiedHeadCrossEntropy {
  /// Rows per chunk of logits.
  public static let chunkRows = 512

  /// Per-row losses (NaN for unlabeled rows) and the mean over labeled rows. With `dx`/`dTable`
  /// given, adds the gradient of the mean loss (times `gradScale`) into them.
  public static func forward(
    _ x: UnsafePointer<Float>, rows: Int, d: Int, table: UnsafePointer<Float>, vocab: Int, targets: [Int32],
    losses: UnsafeMutablePointer<Float>, correct: UnsafeMutablePointer<Bool>? = nil, dx: UnsafeMutablePointer<Float>?,
    dTable: UnsafeMutablePointer<Float>?, gradScale: Float = 1, threads: Int
  ) -> Double {
    let labeled = (0..<rows).filter { targets[$0] >= 0 }
    for r in 0..<rows where targets[r] < 0 { losses[r] = .nan }
    guard !labeled.isEmpty else { return .nan }
    let scale = gradScale / Float(labeled.count)
    let chunk = min(chunkRows, labeled.count)
    let xs = UnsafeMutablePointer<Float>.allocate(capacity: chunk * d)
    let logits = UnsafeMutablePointer<Float>.allocate(capacity: chunk * vocab)
    let dxs = UnsafeMutablePointer<Float>.allocate(capacity: chunk * d)
    defer {
      xs.deallocate()
      logits.deallocate()
      dxs.deallocate()
    }
    var start = 0
    while start < labeled.count {
      let n = min(chunk, labeled.count - start)
      let rowsOfChunk = Array(labeled[start..<(start + n)])
      for (c, r) in rowsOfChunk.enumerated() { (xs + c * d).update(from: x + r * d, count: d) }
      sgemm(transposeA: false, transposeB: true, m: n, n: vocab, k: d, xs, lda: d, table, ldb: d, beta: 0, logits, ldc: vocab, threads: threads)
      let wantGrad = dx != nil || dTable != nil
      let shared = UncheckedSendable((logits, losses, correct))
      parallelFor(n, threads: threads) { c in
        let (logits, losses, correct) = shared.value
        let row = logits + c * vocab
        let target = Int(targets[rowsOfChunk[c]])
        let targetLogit = row[target]
        let m = FastMath.max(row, count: vocab)
        // The prediction is right when the target's logit is the largest (ties count as right).
        correct?[rowsOfChunk[c]] = targetLogit >= m
        let sum = FastMath.expShifted(row, count: vocab, shift: m)
        losses[rowsOfChunk[c]] = Foundation.log(sum) + m - targetLogit
        if wantGrad {
          // dlogits = (softmax − onehot) · scale, in place.
          let inv = scale / sum
          var i = 0
          let s = SIMD8<Float>(repeating: inv)
          while i + 8 <= vocab {
            let p = UnsafeMutableRawPointer(row + i)
            p.storeBytes(of: p.loadUnaligned(as: SIMD8<Float>.self) * s, as: SIMD8<Float>.self)
            i += 8
          }
          while i < vocab {
            row[i] *= inv
            i += 1
          }
          row[target] -= scale
        }
      }
      if let dx {
        sgemm(transposeA: false, transposeB: false, m: n, n: d, k: vocab, logits, lda: vocab, table, ldb: d, beta: 0, dxs, ldc: d, threads: threads)
        for (c, r) in rowsOfChunk.enumerated() {
          let out = dx + r * d
          for i in 0..<d { out[i] += dxs[c * d + i] }
        }
      }
      if let dTable {
        sgemm(transposeA: true, transposeB: false, m: vocab, n: d, k: n, logits, lda: vocab, xs, ldb: d, beta: 1, dTable, ldc: d, threads: threads)
      }
      start += n
    }
    var total = 0.0
    for r in labeled { total += Double(losses[r]) }
    return total / Double(labeled.count)
  }
}

/// What ``Tape/tiedHeadCrossEntropy(_:table:targets:)`` returns.
public struct LossOutput {
  /// Mean cross-entropy (nats) over labeled positions.
  public var mean: Double
  /// Per-position losses, NaN where the target is negative (unlabeled).
  public var perToken: [Float]
  /// Labeled positions.
  public var labeled: Int
  /// Labeled positions whose target has the largest logit (argmax accuracy numerator).
  public var correct: Int
  /// Per position: whether the target has the largest logit (false where unlabeled).
  public var correctPerToken: [Bool]
}

extension Tape {
  /// Mean cross-entropy of `x · tableᵀ` against `targets` (negative = unlabeled), the root of
  /// the graph: its gradient is seeded with 1. Gradients into the table are added now, into
  /// `x` when ``backward()`` runs.
  public func tiedHeadCrossEntropy(_ x: Tensor, table: Tensor, targets: [Int32]) -> LossOutput {
    let d = x.lastDimension
    let rows = x.rows
    precondition(targets.count == rows, "loss: \(targets.count) targets for \(rows) rows")
    let vocab = table.shape[0]
    for t in targets where t >= vocab { preconditionFailure("loss: target \(t) outside the vocabulary (\(vocab))") }
    var losses = [Float](repeating: 0, count: rows)
    var correct = [Bool](repeating: false, count: rows)
    let dx: Tensor? = isRecording && x.requiresGrad ? Tensor(zeros: x.shape) : nil
    let mean = losses.withUnsafeMutableBufferPointer { out in
      correct.withUnsafeMutableBufferPointer { hits in
        TiedHeadCrossEntropy.forward(
          x.value.baseAddress!, rows: rows, d: d, table: table.value.baseAddress!, vocab: vocab, targets: targets,
          losses: out.baseAddress!, correct: hits.baseAddress!, dx: dx?.value.baseAddress,
          dTable: isRecording && table.requiresGrad ? table.grad.baseAddress! : nil, threads: threads)
      }
    }
    if let dx {
      record {
        let g = x.grad
        for i in 0..<x.count { g[i] += dx.value[i] }
      }
    }
    return LossOutput(
      mean: mean, perToken: losses, labeled: targets.filter { $0 >= 0 }.count, correct: correct.filter { $0 }.count,
      correctPerToken: correct)
  }
}
