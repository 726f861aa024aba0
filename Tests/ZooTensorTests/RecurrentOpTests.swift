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
    let rule = deltaRuleInputs(batch: 2, length: 32, heads: 2, n: 16, seed: 48).map { Tensor($0.map(Float.init), shape: [2, 32, 32], requiresGrad: true) }
    func deltaRule(_ form: GeneralizedDeltaRule.Form) -> (Tape) -> Tensor {
      { $0.generalizedDeltaRule(q: rule[0], logDecay: rule[1], k: rule[2], v: rule[3], a: rule[4], b: rule[5], heads: 2, form: form) }
    }
    let cases: [(String, [Tensor], (Tape) -> Tensor)] = [
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
