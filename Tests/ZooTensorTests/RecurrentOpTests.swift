import Foundation
import Testing
import ZooSupport

@testable import ZooTensor

/// RWKV's WKV from its definition, in Double (fine up to keys of about 700).
func naiveWKV(timeDecay: Tensor, timeFirst: Tensor, k: Tensor, v: Tensor) -> [Double] {
  let (batch, length, d) = (k.shape[0], k.shape[1], k.shape[2])
  var out = [Double](repeating: 0, count: k.count)
  for b in 0..<batch {
    for c in 0..<d {
      let w = exp(Double(timeDecay.value[c]))
      let u = Double(timeFirst.value[c])
      for t in 0..<length {
        let now = exp(u + Double(k.value[(b * length + t) * d + c]))
        var numerator = now * Double(v.value[(b * length + t) * d + c])
        var denominator = now
        for i in 0..<t {
          let e = exp(-Double(t - 1 - i) * w + Double(k.value[(b * length + i) * d + c]))
          numerator += e * Double(v.value[(b * length + i) * d + c])
          denominator += e
        }
        out[(b * length + t) * d + c] = numerator / denominator
      }
    }
  }
  return out
}

/// Mamba's selective scan from its definition, in Double.
func naiveSelectiveScan(x: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> [Double] {
  let (batch, length, channels) = (x.shape[0], x.shape[1], x.shape[2])
  let states = a.shape[1]
  var out = [Double](repeating: 0, count: x.count)
  for item in 0..<batch {
    for channel in 0..<channels {
      var h = [Double](repeating: 0, count: states)
      for t in 0..<length {
        let index = (item * length + t) * channels + channel
        let (step, input) = (Double(delta.value[index]), Double(x.value[index]))
        var y = Double(d.value[channel]) * input
        for n in 0..<states {
          let bn = Double(b.value[(item * length + t) * states + n])
          h[n] = exp(step * Double(a.value[channel * states + n])) * h[n] + step * bn * input
          y += Double(c.value[(item * length + t) * states + n]) * h[n]
        }
        out[index] = y
      }
    }
  }
  return out
}

/// Largest `|a − b| / (1 + |b|)`.
func worstRelativeError(_ a: [Float], _ b: [Double]) -> Double {
  zip(a, b).map { abs(Double($0) - $1) / (1 + abs($1)) }.max() ?? 0
}

/// Inputs of a selective scan: positive steps, negative `A` (as the mixer makes them).
func scanInputs(batch: Int, length: Int, channels: Int, states: Int, seed: UInt64) -> [Tensor] {
  let x = randomTensor([batch, length, channels], seed: seed)
  let delta = randomTensor([batch, length, channels], seed: seed + 1)
  for i in 0..<delta.count { delta.value[i] = 0.05 + 0.5 * abs(delta.value[i]) }
  let a = randomTensor([channels, states], seed: seed + 2)
  for i in 0..<a.count { a.value[i] = -0.2 - abs(a.value[i]) }
  let b = randomTensor([batch, length, states], seed: seed + 3)
  let c = randomTensor([batch, length, states], seed: seed + 4)
  let d = randomTensor([channels], seed: seed + 5)
  return [x, delta, a, b, c, d]
}

/// The RWKV and Mamba ops: token shift, per-column lerp, exp, softplus, WKV, selective scan (and the
/// thread-count check of RWKV-7's generalized delta rule, GeneralizedDeltaRuleTests.swift).
extension OpGradientTests {
  @Test func timeShiftAndLerp() {
    let x = randomTensor([2, 4, 3], seed: 30)
    let y = randomTensor([2, 4, 3], seed: 31)
    let mix = randomTensor([1, 1, 3], seed: 32)
    #expect(checkOp([x]) { $0.timeShift(x) }.isEmpty)
    #expect(checkOp([x, y, mix]) { $0.lerp(x, y, weight: mix) }.isEmpty)
    let shifted = Tape(recording: false).timeShift(x)
    for b in 0..<2 {
      #expect(shifted.value[(b * 4) * 3..<(b * 4 + 1) * 3].allSatisfy { $0 == 0 })
      #expect(Array(shifted.value[(b * 4 + 1) * 3..<(b * 4 + 4) * 3]) == Array(x.value[(b * 4) * 3..<(b * 4 + 3) * 3]))
    }
  }

  @Test func softplusAndExponential() {
    let x = randomTensor([2, 3, 7], seed: 33, scale: 3)
    #expect(checkOp([x], step: 1e-3) { $0.softplus(x) }.isEmpty)
    #expect(checkOp([x], step: 1e-3) { $0.exponential(x, scale: -1) }.isEmpty)
    // Stable at both ends, where log(1 + e^x) in Float overflows or rounds the tail away.
    let y = Tape(recording: false).softplus(Tensor([100, -100, 0, -20], shape: [4]))
    #expect(y.value[0] == 100 && y.value[1] > 0 && y.value[1] < 1e-38)
    #expect(abs(y.value[2] - Float(log(2.0))) < 1e-7 && abs(y.value[3] - Float(exp(-20.0))) < 1e-13)
  }

  /// The stabilized recurrence equals the definition, also for keys whose exponentials overflow Float.
  @Test(arguments: [Float(1), 40])
  func wkvMatchesItsDefinition(keyScale: Float) {
    let timeDecay = randomTensor([5], seed: 34)
    let timeFirst = randomTensor([5], seed: 35)
    let k = randomTensor([2, 9, 5], seed: 36, scale: keyScale)
    let v = randomTensor([2, 9, 5], seed: 37)
    if keyScale > 1 {
      k.value[3] = 100
      k.value[50] = -100
      #expect(Float(exp(k.array.max()!)).isInfinite)
    }
    let out = Tape(recording: false).wkv(timeDecay: timeDecay, timeFirst: timeFirst, k: k, v: v)
    let worst = worstRelativeError(out.array, naiveWKV(timeDecay: timeDecay, timeFirst: timeFirst, k: k, v: v))
    #expect(worst < 1e-6, "keys ×\(keyScale): worst relative error \(worst)")
  }

  @Test(arguments: [Float(1), 40])
  func wkvGradients(keyScale: Float) {
    let timeDecay = randomTensor([3], seed: 38)
    let timeFirst = randomTensor([3], seed: 39)
    let k = randomTensor([2, 7, 3], seed: 40, scale: keyScale)
    let v = randomTensor([2, 7, 3], seed: 41)
    if keyScale > 1 { k.value[4] = 100 }
    let mismatches = checkOp([timeDecay, timeFirst, k, v]) { $0.wkv(timeDecay: timeDecay, timeFirst: timeFirst, k: k, v: v) }
    #expect(mismatches.isEmpty, "keys ×\(keyScale): \(mismatches.prefix(5))")
  }

  @Test func selectiveScanMatchesItsDefinitionAndGradients() {
    let inputs = scanInputs(batch: 2, length: 7, channels: 3, states: 11, seed: 42)
    let (x, delta, a, b, c, d) = (inputs[0], inputs[1], inputs[2], inputs[3], inputs[4], inputs[5])
    let out = Tape(recording: false).selectiveScan(x: x, delta: delta, a: a, b: b, c: c, d: d)
    let worst = worstRelativeError(out.array, naiveSelectiveScan(x: x, delta: delta, a: a, b: b, c: c, d: d))
    #expect(worst < 1e-5, "worst relative error \(worst)")
    let mismatches = checkOp(inputs, step: 5e-3) { $0.selectiveScan(x: x, delta: delta, a: a, b: b, c: c, d: d) }
    #expect(mismatches.isEmpty, "\(mismatches.prefix(5))")
  }

  /// Shapes large enough for two threads (checked): the outputs and every gradient are bit-identical.
  @Test func recurrencesDoNotDependOnThreadCount() {
    let scan = scanInputs(batch: 3, length: 16, channels: 16, states: 16, seed: 43)
    let rwkv = [randomTensor([64], seed: 44), randomTensor([64], seed: 45), randomTensor([2, 32, 64], seed: 46, scale: 3), randomTensor([2, 32, 64], seed: 47)]
    let gla = [randomTensor([2, 32, 16], seed: 48), randomTensor([2, 32, 16], seed: 49), randomTensor([2, 32, 32], seed: 50), randomTensor([2, 32, 16], seed: 51, scale: 0.3)]
    let rule = deltaRuleInputs(batch: 2, length: 32, heads: 2, n: 16, seed: 48).map { Tensor($0.map(Float.init), shape: [2, 32, 32], requiresGrad: true) }
    func deltaRule(_ form: GeneralizedDeltaRule.Form) -> (Tape) -> Tensor {
      { $0.generalizedDeltaRule(q: rule[0], logDecay: rule[1], k: rule[2], v: rule[3], a: rule[4], b: rule[5], heads: 2, form: form) }
    }
    let cases: [(String, [Tensor], (Tape) -> Tensor)] = [
      ("gated linear attention, chunked", gla, { $0.gatedLinearAttention(q: gla[0], k: gla[1], v: gla[2], logGate: gla[3], heads: 2, scale: 0.3, form: .chunked(size: 5)) }),
      ("gated linear attention, recurrent", gla, { $0.gatedLinearAttention(q: gla[0], k: gla[1], v: gla[2], logGate: gla[3], heads: 2, scale: 0.3, form: .recurrent) }),
      ("selective scan", scan, { $0.selectiveScan(x: scan[0], delta: scan[1], a: scan[2], b: scan[3], c: scan[4], d: scan[5]) }),
      ("wkv", rwkv, { $0.wkv(timeDecay: rwkv[0], timeFirst: rwkv[1], k: rwkv[2], v: rwkv[3]) }),
      ("generalized delta rule, recurrent", rule, deltaRule(.recurrent)),
      ("generalized delta rule, chunks of 8", rule, deltaRule(.chunked(8))),
    ]
    for (name, inputs, forward) in cases {
      var results: [[[Float]]] = []
      for threads in [1, 2] {
        for t in inputs { t.zeroGrad() }
        let (y, splits) = ParallelSplits.counting {
          let tape = Tape(threads: threads)
          let y = forward(tape)
          for i in 0..<y.count { y.grad[i] = Float(i % 7) - 3 }
          tape.backward()
          return y
        }
        // Forward and backward each split on 2 threads.
        #expect(splits == (threads == 1 ? 0 : 2), "\(name) on \(threads) threads: \(splits) split calls")
        results.append([y.array] + inputs.map(\.gradArray))
      }
      #expect(results[0] == results[1], "\(name)")
    }
  }
}

/// Gated linear attention from its unrolled definition, in Double:
/// `o_t = Σ_{j≤t} s·(q_t ⊙ exp(G_t − G_j))·k_j v_j` with `G_t = Σ_{m≤t} g_m` (one gate per key, or
/// one per head when `g` has `heads` columns).
func naiveGatedLinearAttention(q: [Double], k: [Double], v: [Double], g: [Double], batch: Int, length: Int, heads: Int, keys: Int, values: Int, scale: Double) -> [Double] {
  let gates = g.count / (batch * length * heads)
  var out = [Double](repeating: 0, count: batch * length * heads * values)
  for b in 0..<batch {
    for h in 0..<heads {
      func at(_ t: Int, _ width: Int) -> Int { (b * length + t) * heads * width + h * width }
      var cumulative = [[Double]](repeating: [Double](repeating: 0, count: gates), count: length)
      for t in 0..<length { for j in 0..<gates { cumulative[t][j] = (t > 0 ? cumulative[t - 1][j] : 0) + g[at(t, gates) + j] } }
      for t in 0..<length {
        for j in 0...t {
          var score = 0.0
          for i in 0..<keys {
            let lane = gates == 1 ? 0 : i
            score += q[at(t, keys) + i] * k[at(j, keys) + i] * exp(cumulative[t][lane] - cumulative[j][lane])
          }
          for c in 0..<values { out[at(t, values) + c] += scale * score * v[at(j, values) + c] }
        }
      }
    }
  }
  return out
}

/// Gated linear attention's two views, its gradients, and its definition.
extension OpGradientTests {
  /// Random inputs of one call in Double: log-gates in [−3, 0], a few strongly negative.
  static func glaInputs(batch: Int, length: Int, heads: Int, keys: Int, values: Int, perKey: Bool, seed: UInt64) -> [[Double]] {
    var rng = SplitMix64(seed: seed)
    let rows = batch * length * heads
    func gaussian(_ n: Int) -> [Double] { (0..<n).map { _ in rng.nextGaussian() } }
    var g = (0..<(rows * (perKey ? keys : 1))).map { _ in -3 * rng.nextDouble() }
    g[1] = -40
    return [gaussian(rows * keys), gaussian(rows * keys), gaussian(rows * values), g]
  }

  /// Runs forward and backward of one form in Double: the output and the gradients of q, k, v, g.
  static func glaDouble(_ inputs: [[Double]], shape: GatedLinearAttention.Shape, scale: Double, form: GatedLinearAttention.Form, dOut: [Double]) -> [[Double]] {
    let (q, k, v, g) = (inputs[0], inputs[1], inputs[2], inputs[3])
    var out = [Double](repeating: 0, count: v.count)
    var (dq, dk, dv, dg) = ([Double](repeating: 0, count: q.count), [Double](repeating: 0, count: k.count), [Double](repeating: 0, count: v.count), [Double](repeating: 0, count: g.count))
    GatedLinearAttention.forward(q: q, k: k, v: v, g: g, shape: shape, scale: scale, form: form, out: &out, threads: 1)
    GatedLinearAttention.backward(q: q, k: k, v: v, g: g, shape: shape, scale: scale, form: form, dOut: dOut, dq: &dq, dk: &dk, dv: &dv, dg: &dg, threads: 1)
    return [out, dq, dk, dv, dg]
  }

  /// In Double the chunked view (chunks of 1, 3, 4, 5, 12 and 16 tokens at length 12) equals the
  /// recurrent view, forward and backward, and both equal the definition; per-key and per-head gates.
  @Test(arguments: [true, false])
  func gatedLinearAttentionViewsAgreeInDouble(perKey: Bool) {
    let shape = GatedLinearAttention.Shape(batch: 2, length: 12, heads: 2, keys: 3, values: 4, gates: perKey ? 3 : 1)
    let inputs = Self.glaInputs(batch: 2, length: 12, heads: 2, keys: 3, values: 4, perKey: perKey, seed: 50)
    var rng = SplitMix64(seed: 51)
    let dOut = (0..<inputs[2].count).map { _ in rng.nextGaussian() }
    let scale = 1 / 3.0.squareRoot()
    let recurrent = Self.glaDouble(inputs, shape: shape, scale: scale, form: .recurrent, dOut: dOut)
    let naive = naiveGatedLinearAttention(
      q: inputs[0], k: inputs[1], v: inputs[2], g: inputs[3], batch: 2, length: 12, heads: 2, keys: 3, values: 4, scale: scale)
    let definition = zip(recurrent[0], naive).map { abs($0 - $1) / (1 + abs($1)) }.max()!
    #expect(definition < 1e-12, "recurrent view vs definition: \(definition)")
    for size in [1, 3, 4, 5, 12, 16] {
      let chunked = Self.glaDouble(inputs, shape: shape, scale: scale, form: .chunked(size: size), dOut: dOut)
      for (index, name) in ["output", "dq", "dk", "dv", "dg"].enumerated() {
        let worst = zip(chunked[index], recurrent[index]).map { abs($0 - $1) / (1 + abs($1)) }.max()!
        #expect(worst < 1e-12, "chunk \(size) \(name): chunked vs recurrent \(worst)")
      }
    }
  }

  /// Finite differences, both views, both gate shapes (Float).
  @Test(arguments: [(true, 0), (false, 0), (true, 4), (false, 3)])
  func gatedLinearAttentionGradients(perKey: Bool, chunk: Int) {
    let (batch, length, heads, keys, values) = (2, 7, 2, 3, 2)
    let q = randomTensor([batch, length, heads * keys], seed: 52)
    let k = randomTensor([batch, length, heads * keys], seed: 53)
    let v = randomTensor([batch, length, heads * values], seed: 54)
    let g = randomTensor([batch, length, heads * (perKey ? keys : 1)], seed: 55)
    for i in 0..<g.count { g.value[i] = -0.1 - abs(g.value[i]) }
    let form: GatedLinearAttention.Form = chunk == 0 ? .recurrent : .chunked(size: chunk)
    let mismatches = checkOp([q, k, v, g], step: 5e-3) { $0.gatedLinearAttention(q: q, k: k, v: v, logGate: g, heads: heads, scale: 0.6, form: form) }
    #expect(mismatches.isEmpty, "\(form), per key \(perKey): \(mismatches.prefix(5))")
  }

  /// Decays that underflow Float (log-gates of −200) keep the chunked view finite and equal to the recurrence.
  @Test func gatedLinearAttentionWithStrongDecays() {
    let q = randomTensor([1, 20, 8], seed: 56)
    let k = randomTensor([1, 20, 8], seed: 57)
    let v = randomTensor([1, 20, 6], seed: 58)
    let g = randomTensor([1, 20, 2], seed: 59)
    for i in 0..<g.count { g.value[i] = i % 7 == 3 ? -200 : -abs(g.value[i]) }
    let tape = Tape(recording: false)
    let chunked = tape.gatedLinearAttention(q: q, k: k, v: v, logGate: g, heads: 2, scale: 1, form: .chunked(size: 8))
    let recurrent = tape.gatedLinearAttention(q: q, k: k, v: v, logGate: g, heads: 2, scale: 1, form: .recurrent)
    #expect(chunked.array.allSatisfy { $0.isFinite })
    let worst = zip(chunked.array, recurrent.array).map { abs($0 - $1) / (1 + abs($1)) }.max()!
    #expect(worst < 1e-5, "chunked vs recurrent: \(worst)")
  }

  @Test func rmsNormLogSigmoidAndColumnOps() {
    let x = randomTensor([2, 3, 8], seed: 60, scale: 2)
    let w = randomTensor([4], seed: 61)
    let b = randomTensor([8], seed: 62)
    #expect(checkOp([x, w], step: 5e-3) { $0.rmsNorm(x, weight: w) }.isEmpty)
    #expect(checkOp([x], step: 1e-3) { $0.logSigmoid(x, scale: 0.5) }.isEmpty)
    #expect(checkOp([x, b]) { $0.addColumns(x, b) }.isEmpty)
    #expect(checkOp([x]) { $0.repeatColumns(x, each: 2, times: 3) }.isEmpty)
    // log σ stays finite where σ underflows, and RMS norm with unit weight has unit mean square.
    let y = Tape(recording: false).logSigmoid(Tensor([-200, 0, 30], shape: [3]))
    #expect(y.value[0] == -200 && abs(y.value[1] + Float(log(2.0))) < 1e-7 && y.value[2] < 0 && y.value[2] > -1e-12)
    let n = Tape(recording: false).rmsNorm(x, weight: Tensor([1, 1, 1, 1], shape: [4]), eps: 0)
    for group in 0..<12 { #expect(abs((0..<4).reduce(Float(0)) { $0 + n.value[group * 4 + $1] * n.value[group * 4 + $1] } / 4 - 1) < 1e-5) }
    let r = Tape(recording: false).repeatColumns(Tensor([1, 2], shape: [1, 2]), each: 2, times: 2)
    #expect(r.array == [1, 1, 2, 2, 1, 1, 2, 2])
  }
}
