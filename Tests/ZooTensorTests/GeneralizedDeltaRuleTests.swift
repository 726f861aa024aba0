import Foundation
import Testing
import ZooSupport

@testable import ZooTensor

/// RWKV-7's generalized delta rule from the paper's equations, in Double, in the paper's orientation
/// (`S` is `V × K`): `S_t = S_{t−1}(diag(w_t) + a_t b_tᵀ) + v_t k_tᵀ`, `o_t = S_t r_t`.
func naiveGeneralizedDeltaRule(_ x: [[Double]], batch: Int, length: Int, heads: Int, n: Int) -> [Double] {
  let (r, g, k, v, a, b) = (x[0], x[1], x[2], x[3], x[4], x[5])
  let width = heads * n
  var out = [Double](repeating: 0, count: batch * length * width)
  for item in 0..<(batch * heads) {
    let offset = (item / heads) * length * width + (item % heads) * n
    var s = [Double](repeating: 0, count: n * n)  // s[j][i]: value j, key i
    for t in 0..<length {
      let row = offset + t * width
      var transition = [Double](repeating: 0, count: n * n)
      for i in 0..<n {
        transition[i * n + i] = exp(g[row + i])
        for l in 0..<n { transition[i * n + l] += a[row + i] * b[row + l] }
      }
      var next = [Double](repeating: 0, count: n * n)
      for j in 0..<n {
        for l in 0..<n {
          var total = v[row + j] * k[row + l]
          for i in 0..<n { total += s[j * n + i] * transition[i * n + l] }
          next[j * n + l] = total
        }
      }
      s = next
      for j in 0..<n { out[row + j] = (0..<n).reduce(0) { $0 + s[j * n + $1] * r[row + $1] } }
    }
  }
  return out
}

/// Inputs shaped as RWKV-7 makes them: log decays in [−e^{−0.5}, 0), `a = −κ̂`, `b = κ̂ ⊙ α` with
/// `κ̂` of unit length per head and `α ∈ (0, 1)`; `r`, `k`, `v` Gaussian. Order: r, g, k, v, a, b.
func deltaRuleInputs(batch: Int, length: Int, heads: Int, n: Int, seed: UInt64) -> [[Double]] {
  var rng = SplitMix64(seed: seed)
  let count = batch * length * heads * n
  func gaussian() -> [Double] { (0..<count).map { _ in rng.nextGaussian() } }
  let (r, k, v) = (gaussian(), gaussian(), gaussian())
  let g = (0..<count).map { _ in -exp(-0.5) / (1 + exp(-2 * rng.nextGaussian())) }
  var kappa = gaussian()
  for group in 0..<(count / n) {
    let norm = (0..<n).reduce(0.0) { $0 + kappa[group * n + $1] * kappa[group * n + $1] }.squareRoot()
    for i in 0..<n { kappa[group * n + i] /= norm }
  }
  let alpha = (0..<count).map { _ in 1 / (1 + exp(-rng.nextGaussian())) }
  return [r, g, k, v, kappa.map { -$0 }, zip(kappa, alpha).map { $0 * $1 }]
}

/// Output and the six input gradients (for `dOut`) of one form, computed in `T`.
func deltaRuleResults<T: BinaryFloatingPoint>(
  _ x: [[Double]], in _: T.Type, form: GeneralizedDeltaRule.Form, batch: Int, length: Int, heads: Int, n: Int,
  dOut: [Double]
) -> [[Double]] {
  let count = dOut.count
  let buffers = (0..<14).map { _ in UnsafeMutablePointer<T>.allocate(capacity: count) }
  defer { for buffer in buffers { buffer.deallocate() } }
  for (buffer, values) in zip(buffers, x + [dOut]) { for i in 0..<count { buffer[i] = T(values[i]) } }
  for buffer in buffers[7...] { buffer.initialize(repeating: 0, count: count) }
  let (inputs, d, out, grads) = (buffers[0..<6].map { UnsafePointer($0) }, UnsafePointer(buffers[6]), buffers[7], Array(buffers[8...]))
  let saved = [T](unsafeUninitializedCapacity: GeneralizedDeltaRule.savedCount(form: form, batch: batch, length: length, heads: heads, headDim: n)) { saved, initialized in
    GeneralizedDeltaRule.forward(
      form: form, q: inputs[0], logDecay: inputs[1], k: inputs[2], v: inputs[3], a: inputs[4], b: inputs[5], batch: batch,
      length: length, heads: heads, headDim: n, out: out, saved: saved.baseAddress!, threads: 1)
    initialized = saved.count
  }
  GeneralizedDeltaRule.backward(
    form: form, q: inputs[0], logDecay: inputs[1], k: inputs[2], v: inputs[3], a: inputs[4], b: inputs[5], batch: batch,
    length: length, heads: heads, headDim: n, saved: saved, dOut: d, dq: grads[0], dLogDecay: grads[1], dk: grads[2],
    dv: grads[3], da: grads[4], db: grads[5], threads: 1)
  return ([out] + grads).map { buffer in (0..<count).map { Double(buffer[$0]) } }
}

/// Largest `|a − b|` relative to the largest `|b|`.
func worstScaledError(_ a: [Double], _ b: [Double]) -> Double {
  let scale = max(b.map(abs).max() ?? 0, 1e-300)
  return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}

extension OpGradientTests {
  /// In Double, the recurrence equals the paper's equations and every chunk size gives the
  /// recurrence's output and gradients (sizes that divide the length and ones that do not).
  @Test func generalizedDeltaRuleViewsAgreeInDouble() {
    let (batch, length, heads, n) = (2, 37, 2, 5)
    let x = deltaRuleInputs(batch: batch, length: length, heads: heads, n: n, seed: 60)
    var rng = SplitMix64(seed: 61)
    let dOut = (0..<x[0].count).map { _ in rng.nextGaussian() }
    let recurrent = deltaRuleResults(x, in: Double.self, form: .recurrent, batch: batch, length: length, heads: heads, n: n, dOut: dOut)
    let definition = naiveGeneralizedDeltaRule(x, batch: batch, length: length, heads: heads, n: n)
    #expect(worstScaledError(recurrent[0], definition) < 1e-13, "recurrent vs definition: \(worstScaledError(recurrent[0], definition))")
    let names = ["out", "dq", "dlog_decay", "dk", "dv", "da", "db"]
    for size in [1, 4, 8, 16, 37, 64] {
      let chunked = deltaRuleResults(x, in: Double.self, form: .chunked(size), batch: batch, length: length, heads: heads, n: n, dOut: dOut)
      for (name, (c, r)) in zip(names, zip(chunked, recurrent)) {
        let worst = worstScaledError(c, r)
        #expect(worst < 1e-12, "chunk \(size) \(name): worst scaled error \(worst)")
      }
    }
  }

  /// In Float, the chunked form stays within Float rounding of the Double recurrence at RWKV-7's
  /// strongest decay over a 64-step chunk (factors e^{±γ} up to e^{±39}).
  @Test func chunkedFormIsAccurateInFloatAtLongChunks() {
    let (batch, length, heads, n) = (1, 128, 1, 8)
    var x = deltaRuleInputs(batch: batch, length: length, heads: heads, n: n, seed: 62)
    for i in 0..<x[1].count where i % 3 == 0 { x[1][i] = -exp(-0.5) }
    let dOut = [Double](repeating: 1, count: x[0].count)
    let reference = deltaRuleResults(x, in: Double.self, form: .recurrent, batch: batch, length: length, heads: heads, n: n, dOut: dOut)
    let chunked = deltaRuleResults(x, in: Float.self, form: .chunked(64), batch: batch, length: length, heads: heads, n: n, dOut: dOut)
    for (index, (c, r)) in zip(chunked, reference).enumerated() {
      let worst = worstScaledError(c, r)
      #expect(worst < 1e-4, "result \(index): worst scaled error \(worst)")
    }
  }

  @Test(arguments: [GeneralizedDeltaRule.Form.recurrent, .chunked(3)])
  func generalizedDeltaRuleGradients(form: GeneralizedDeltaRule.Form) {
    let (batch, length, heads, n) = (2, 7, 2, 3)
    let x = deltaRuleInputs(batch: batch, length: length, heads: heads, n: n, seed: 63)
    let shape = [batch, length, heads * n]
    let inputs = x.map { Tensor($0.map(Float.init), shape: shape, requiresGrad: true) }
    let mismatches = checkOp(inputs, step: 1e-3) {
      $0.generalizedDeltaRule(q: inputs[0], logDecay: inputs[1], k: inputs[2], v: inputs[3], a: inputs[4], b: inputs[5], heads: heads, form: form)
    }
    #expect(mismatches.isEmpty, "\(form): \(mismatches.prefix(5))")
  }

  @Test func tanhScaleAndHeadOps() {
    let x = randomTensor([2, 3, 6], seed: 64)
    let u = randomTensor([2, 3, 6], seed: 65)
    #expect(checkOp([x]) { $0.tanh(x) }.isEmpty)
    #expect(checkOp([x]) { $0.scale(x, by: -0.6) }.isEmpty)
    #expect(checkOp([x], step: 1e-3) { $0.l2NormalizeHeads(x, heads: 2) }.isEmpty)
    #expect(checkOp([x, u]) { $0.scaleHeads(x, bySumOf: u, heads: 3) }.isEmpty)
    let y = Tape(recording: false).l2NormalizeHeads(x, heads: 2)
    // |y|² = |x|² / (|x|² + 10⁻⁶) per head.
    for group in 0..<12 {
      let squares = { (t: Tensor) in (0..<3).reduce(0.0) { $0 + Double(t.value[group * 3 + $1]) * Double(t.value[group * 3 + $1]) } }
      #expect(abs(squares(y) - squares(x) / (squares(x) + 1e-6)) < 1e-6)
    }
  }
}
