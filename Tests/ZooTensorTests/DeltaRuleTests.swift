import Foundation
import Testing
import ZooSupport

@testable import ZooTensor

/// Inputs of a delta rule in Double: L2-normalized keys (as the mixers make them), queries,
/// values, β in (0, 1) and log decays in (−1, 0) (`gated`), laid out as ``DeltaRule`` reads them.
struct DeltaRuleCase {
  let shape: DeltaRule.Shape
  let gated: Bool
  var q, k, v, beta, logDecay: [Double]

  init(batch: Int, length: Int, heads: Int, keyDim: Int, valueDim: Int, gated: Bool, seed: UInt64) {
    shape = DeltaRule.Shape(batch: batch, length: length, heads: heads, keyDim: keyDim, valueDim: valueDim)
    self.gated = gated
    var rng = SplitMix64(seed: seed)
    let rows = batch * length * heads
    q = (0..<(rows * keyDim)).map { _ in rng.nextGaussian() }
    var keys = (0..<(rows * keyDim)).map { _ in rng.nextGaussian() }
    for r in 0..<rows {
      let norm = keys[(r * keyDim)..<(r * keyDim + keyDim)].reduce(0.0) { $0 + $1 * $1 }.squareRoot()
      for i in 0..<keyDim { keys[r * keyDim + i] /= norm }
    }
    k = keys
    v = (0..<(rows * valueDim)).map { _ in rng.nextGaussian() }
    beta = (0..<rows).map { _ in 0.05 + 0.9 * rng.nextDouble() }
    logDecay = (0..<rows).map { _ in -rng.nextDouble() }
  }

  /// The output and the gradients of q, k, v, β (and g) of `Σ out ⊙ r` for a fixed `r`, in `form`.
  func run(_ form: DeltaRule.Form) -> (out: [Double], gradients: [[Double]]) {
    var rng = SplitMix64(seed: 5)
    let dOut = (0..<v.count).map { _ in rng.nextGaussian() }
    func copy(_ values: [Double]) -> UnsafeMutablePointer<Double> {
      let p = UnsafeMutablePointer<Double>.allocate(capacity: values.count)
      p.initialize(from: values, count: values.count)
      return p
    }
    let sources = [q, k, v, beta, logDecay, dOut]
    let values = sources.map(copy)
    let grads = sources.prefix(5).map { copy([Double](repeating: 0, count: $0.count)) }
    let out = UnsafeMutablePointer<Double>.allocate(capacity: v.count)
    defer { for p in values + grads + [out] { p.deallocate() } }
    let inputs = DeltaRule.Inputs(
      q: UnsafePointer(values[0]), k: UnsafePointer(values[1]), v: UnsafePointer(values[2]), beta: UnsafePointer(values[3]),
      logDecay: gated ? UnsafePointer(values[4]) : nil)
    let gradients = DeltaRule.Gradients(q: grads[0], k: grads[1], v: grads[2], beta: grads[3], logDecay: gated ? grads[4] : nil)
    switch form {
    case .recurrent:
      DeltaRule.recurrentForward(inputs, shape, out: out, threads: 1)
      DeltaRule.recurrentBackward(inputs, shape, dOut: values[5], gradients: gradients, threads: 1)
    case .chunked(let size):
      let states = UnsafeMutablePointer<Double>.allocate(capacity: DeltaRule.savedStateCount(shape, chunk: size))
      defer { states.deallocate() }
      DeltaRule.chunkedForward(inputs, shape, chunk: size, out: out, states: states, threads: 1)
      DeltaRule.chunkedBackward(inputs, shape, chunk: size, states: states, dOut: values[5], gradients: gradients, threads: 1)
    }
    let gradientArrays = zip(grads, sources).map { Array(UnsafeBufferPointer(start: $0, count: $1.count)) }
    return (Array(UnsafeBufferPointer(start: out, count: v.count)), Array(gradientArrays.prefix(gated ? 5 : 4)))
  }

  /// The rule from its definition, `S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ`, `o_t = S_tᵀ q_t/√K`.
  func definition() -> [Double] {
    let (kd, vd, heads, length) = (shape.keyDim, shape.valueDim, shape.heads, shape.length)
    var out = [Double](repeating: 0, count: v.count)
    for b in 0..<shape.batch {
      for h in 0..<heads {
        var s = [Double](repeating: 0, count: kd * vd)
        for t in 0..<length {
          let row = (b * length + t) * heads + h
          let (key, query) = (Array(k[(row * kd)..<(row * kd + kd)]), Array(q[(row * kd)..<(row * kd + kd)]))
          let alpha = gated ? exp(logDecay[row]) : 1
          var next = [Double](repeating: 0, count: kd * vd)
          for i in 0..<kd {
            for c in 0..<vd {
              var projected = 0.0  // ((I − β k kᵀ) S)[i, c]
              for j in 0..<kd { projected += ((i == j ? 1 : 0) - beta[row] * key[i] * key[j]) * s[j * vd + c] }
              next[i * vd + c] = alpha * projected + beta[row] * key[i] * v[row * vd + c]
            }
          }
          s = next
          for c in 0..<vd { out[row * vd + c] = (0..<kd).reduce(0.0) { $0 + s[$1 * vd + c] * query[$1] } / Double(kd).squareRoot() }
        }
      }
    }
    return out
  }

  /// Float tensors of the inputs, shaped as the tape op takes them.
  var tensors: [Tensor] {
    let rows = [shape.batch, shape.length]
    return [
      Tensor(q.map(Float.init), shape: rows + [shape.heads * shape.keyDim], requiresGrad: true),
      Tensor(k.map(Float.init), shape: rows + [shape.heads * shape.keyDim], requiresGrad: true),
      Tensor(v.map(Float.init), shape: rows + [shape.heads * shape.valueDim], requiresGrad: true),
      Tensor(beta.map(Float.init), shape: rows + [shape.heads], requiresGrad: true),
    ] + (gated ? [Tensor(logDecay.map(Float.init), shape: rows + [shape.heads], requiresGrad: true)] : [])
  }
}

/// Largest `|a − b|` over two lists of lists.
func largestDifference(_ a: [[Double]], _ b: [[Double]]) -> Double {
  zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? 0
}

/// The delta rule (both forms) and the normalizations DeltaNet puts around it.
extension OpGradientTests {
  /// In float64 the chunked form equals the recurrence, outputs and every gradient, for chunks of
  /// one token, of sizes that do and do not divide the length, and of the whole sequence; the
  /// recurrence equals the rule's definition.
  @Test(arguments: [false, true])
  func deltaRuleFormsAgreeInFloat64(gated: Bool) {
    let cases = DeltaRuleCase(batch: 2, length: 13, heads: 2, keyDim: 3, valueDim: 4, gated: gated, seed: 60)
    let recurrent = cases.run(.recurrent)
    let definition = cases.definition()
    #expect(zip(recurrent.out, definition).map { abs($0 - $1) }.max()! < 1e-12)
    #expect(recurrent.gradients.allSatisfy { $0.contains { abs($0) > 1e-3 } })
    for size in [1, 4, 5, 13, 64] {
      let chunked = cases.run(.chunked(size: size))
      let worst = largestDifference([chunked.out] + chunked.gradients, [recurrent.out] + recurrent.gradients)
      #expect(worst < 1e-12, "chunks of \(size)\(gated ? ", gated" : ""): max difference \(worst)")
    }
  }

  /// Finite differences in Float for both forms, gated and not (β and g enter as they are given).
  @Test(arguments: [(false, DeltaRule.Form.recurrent), (false, .chunked(size: 3)), (true, .recurrent), (true, .chunked(size: 3))])
  func deltaRuleGradients(gated: Bool, form: DeltaRule.Form) {
    let inputs = DeltaRuleCase(batch: 2, length: 7, heads: 2, keyDim: 3, valueDim: 2, gated: gated, seed: 61).tensors
    let mismatches = checkOp(inputs, step: 5e-3) {
      $0.deltaRule(q: inputs[0], k: inputs[1], v: inputs[2], beta: inputs[3], logDecay: gated ? inputs[4] : nil, heads: 2, form: form)
    }
    #expect(mismatches.isEmpty, "\(form)\(gated ? ", gated" : ""): \(mismatches.prefix(5))")
  }

  /// Shapes large enough for two threads (checked): the outputs and every gradient are bit-identical.
  @Test(arguments: [DeltaRule.Form.recurrent, .chunked(size: 16)])
  func deltaRuleDoesNotDependOnThreadCount(form: DeltaRule.Form) {
    let inputs = DeltaRuleCase(batch: 2, length: 64, heads: 2, keyDim: 16, valueDim: 16, gated: true, seed: 62).tensors
    var results: [[[Float]]] = []
    for threads in [1, 2] {
      for t in inputs { t.zeroGrad() }
      let (y, splits) = ParallelSplits.counting {
        let tape = Tape(threads: threads)
        let y = tape.deltaRule(q: inputs[0], k: inputs[1], v: inputs[2], beta: inputs[3], logDecay: inputs[4], heads: 2, form: form)
        for i in 0..<y.count { y.grad[i] = Float(i % 7) - 3 }
        tape.backward()
        return y
      }
      #expect(splits == (threads == 1 ? 0 : 2), "\(form) on \(threads) threads: \(splits) split calls")
      results.append([y.array] + inputs.map(\.gradArray))
    }
    #expect(results[0] == results[1], "\(form)")
  }

  /// The normalizations around the rule (per head, one weight for all heads): gradients, and RMS norm
  /// is the L2 normalization times √(head size) ⊙ w.
  @Test func l2NormalizeAndRMSNormPerHead() {
    let x = randomTensor([2, 3, 8], seed: 63)
    let w = randomTensor([4], seed: 64)
    #expect(checkOp([x], step: 5e-3) { $0.l2NormalizeHeads(x, heads: 2) }.isEmpty)
    #expect(checkOp([x, w], step: 5e-3) { $0.rmsNorm(x, weight: w) }.isEmpty)
    let unit = Tape(recording: false).l2NormalizeHeads(x, heads: 2)
    let rms = Tape(recording: false).rmsNorm(x, weight: w)
    for head in 0..<12 {
      let values = unit.array[(head * 4)..<(head * 4 + 4)]
      #expect(abs(values.reduce(0) { $0 + $1 * $1 } - 1) < 1e-5)
      for i in 0..<4 { #expect(abs(rms.value[head * 4 + i] - unit.value[head * 4 + i] * 2 * w.value[i]) < 1e-4) }
    }
  }
}
