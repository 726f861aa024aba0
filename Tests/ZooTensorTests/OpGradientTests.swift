import Foundation
import Testing
import ZooSupport

@testable import ZooTensor

/// A tensor of `shape` with values ~ N(0, scale²) from `seed`.
func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1, requiresGrad: Bool = true) -> Tensor {
  var rng = SplitMix64(seed: seed)
  let t = Tensor(zeros: shape, requiresGrad: requiresGrad)
  for i in 0..<t.count { t.value[i] = Float(rng.nextGaussian()) * scale }
  return t
}

/// Finite-difference check of an op with one output: loss = Σ y ⊙ r for a fixed random r.
func checkOp(
  _ inputs: [Tensor], step: Float = 1e-2, relative: Double = 1e-2, _ forward: @escaping (Tape) -> Tensor
) -> [GradientCheck.Mismatch] {
  let probe = forward(Tape(recording: false))
  var rng = SplitMix64(seed: 99)
  let r = (0..<probe.count).map { _ in rng.nextGaussian() }
  func loss() -> Double {
    let y = forward(Tape(recording: false))
    var total = 0.0
    for i in 0..<y.count { total += Double(y.value[i]) * r[i] }
    return total
  }
  return GradientCheck.check(inputs: inputs, step: step, relative: relative, loss: loss) {
    for t in inputs { t.zeroGrad() }
    let tape = Tape()
    let y = forward(tape)
    for i in 0..<y.count { y.grad[i] = Float(r[i]) }
    tape.backward()
    return inputs.map(\.gradArray)
  }
}

@Suite struct OpGradientTests {
  @Test func linear() {
    let x = randomTensor([2, 3, 5], seed: 1)
    let w = randomTensor([4, 5], seed: 2)
    let b = randomTensor([4], seed: 3)
    #expect(checkOp([x, w, b]) { $0.linear(x, weight: w, bias: b) }.isEmpty)
  }

  @Test func layerNorm() {
    let x = randomTensor([4, 8], seed: 4)
    let w = randomTensor([8], seed: 5)
    let b = randomTensor([8], seed: 6)
    #expect(checkOp([x, w, b], step: 5e-3) { $0.layerNorm(x, weight: w, bias: b) }.isEmpty)
  }

  @Test func gelu() {
    let x = randomTensor([50], seed: 7, scale: 2)
    #expect(checkOp([x]) { $0.gelu(x) }.isEmpty)
  }

  @Test func addAndMultiply() {
    let a = randomTensor([3, 4], seed: 8)
    let b = randomTensor([3, 4], seed: 9)
    #expect(checkOp([a, b]) { $0.add(a, b) }.isEmpty)
    #expect(checkOp([a, b]) { $0.multiply(a, b) }.isEmpty)
  }

  @Test func embeddingWithPositions() {
    let table = randomTensor([7, 4], seed: 10)
    let positions = randomTensor([5, 4], seed: 11)
    let ids: [Int32] = [1, 3, 3, 6, 0, 1, 2, 6]
    #expect(checkOp([table, positions]) { $0.embedding(ids: ids, batch: 2, length: 4, table: table, positions: positions) }.isEmpty)
  }

  @Test(arguments: [1, 2])
  func causalSelfAttention(heads: Int) {
    let qkv = randomTensor([2, 6, 3 * 4], seed: 12)
    #expect(checkOp([qkv], step: 5e-3) { $0.causalSelfAttention(qkv, heads: heads) }.isEmpty)
  }

  /// Sliding-window attention's gradients, with blocks smaller than, equal to and larger than the window.
  @Test(arguments: [(1, 3, 2), (2, 3, 3), (2, 4, 64)])
  func slidingWindowAttention(heads: Int, window: Int, blockRows: Int) {
    let qkv = randomTensor([2, 9, 3 * 4], seed: 12)
    #expect(checkOp([qkv], step: 5e-3) { $0.slidingWindowAttention(qkv, heads: heads, window: window, blockRows: blockRows) }.isEmpty)
  }

  /// Sliding-window attention equals a direct evaluation of softmax over each window, for any block
  /// size, and full causal attention once the window covers the sequence.
  @Test func slidingWindowAttentionMatchesADirectEvaluation() {
    let (batch, length, d, heads, window) = (2, 11, 8, 2, 4)
    let qkv = randomTensor([batch, length, 3 * d], seed: 31)
    let hd = d / heads
    var expected = [Double](repeating: 0, count: batch * length * d)
    for b in 0..<batch {
      for h in 0..<heads {
        func at(_ t: Int, _ part: Int, _ c: Int) -> Double { Double(qkv.value[(b * length + t) * 3 * d + part * d + h * hd + c]) }
        for i in 0..<length {
          let visible = max(0, i - window + 1)...i
          let scores = visible.map { j in (0..<hd).reduce(0.0) { $0 + at(i, 0, $1) * at(j, 1, $1) } / Double(hd).squareRoot() }
          let top = scores.max()!
          let weights = scores.map { Foundation.exp($0 - top) }
          let total = weights.reduce(0, +)
          for c in 0..<hd {
            expected[(b * length + i) * d + h * hd + c] = zip(visible, weights).reduce(0.0) { $0 + $1.1 / total * at($1.0, 2, c) }
          }
        }
      }
    }
    for blockRows in [1, 3, 4, 64] {
      let y = Tape(recording: false).slidingWindowAttention(qkv, heads: heads, window: window, blockRows: blockRows)
      let worst = zip(y.array, expected).map { abs(Double($0) - $1) }.max()!
      #expect(worst < 1e-5, "block rows \(blockRows): max difference \(worst)")
    }
    let full = Tape(recording: false).causalSelfAttention(qkv, heads: heads)
    let wide = Tape(recording: false).slidingWindowAttention(qkv, heads: heads, window: 100)
    #expect(zip(full.array, wide.array).allSatisfy { abs($0 - $1) < 1e-6 })
  }

  /// The dropout mask of sliding-window attention does not depend on the block size.
  @Test func slidingWindowDropoutIgnoresTheBlockSize() {
    let qkv = randomTensor([2, 10, 12], seed: 32)
    let small = Tape(dropoutSeed: 3).slidingWindowAttention(qkv, heads: 2, window: 4, dropout: 0.5, blockRows: 2)
    let large = Tape(dropoutSeed: 3).slidingWindowAttention(qkv, heads: 2, window: 4, dropout: 0.5)
    let none = Tape(dropoutSeed: 3).slidingWindowAttention(qkv, heads: 2, window: 4)
    #expect(zip(small.array, large.array).allSatisfy { abs($0 - $1) < 1e-5 })
    #expect(zip(small.array, none.array).contains { abs($0 - $1) > 1e-3 })
  }

  /// Rotary rotation: gradients, and `rot(x)_n · rot(x)_m` depends on `n − m` only.
  @Test func rotary() {
    let x = randomTensor([2, 5, 10], seed: 25)
    #expect(checkOp([x]) { $0.rotary(x, heads: 2) }.isEmpty)
    let same = Tensor((0..<(4 * 6)).map { Float(sin(Double($0 % 6) + 1)) }, shape: [1, 4, 6])
    let y = Tape(recording: false).rotary(same, heads: 1)
    func dot(_ n: Int, _ m: Int) -> Float { (0..<6).reduce(0) { $0 + y.value[n * 6 + $1] * y.value[m * 6 + $1] } }
    #expect(abs(dot(2, 0) - dot(3, 1)) < 1e-5 && abs(dot(1, 0) - dot(2, 1)) < 1e-5 && abs(dot(1, 0) - dot(2, 0)) > 1e-3)
  }

  /// Retention with one and two heads; the inputs' scale makes `max(|Σ_m R_nm|, 1)` take both branches.
  @Test(arguments: [1, 2])
  func retention(heads: Int) {
    let (batch, length, d) = (2, 7, 8)
    let gammas = [0.8, 0.5].prefix(heads).map { $0 }
    let q = randomTensor([batch, length, d], seed: 26, scale: 1.5)
    let k = randomTensor([batch, length, d], seed: 27, scale: 1.5)
    let v = randomTensor([batch, length, d], seed: 28)
    let out = Tensor(zeros: [batch, length, d])
    let weights = Tensor(zeros: [batch, heads, length, length])
    let sums = Tensor(zeros: [batch, heads, length])
    Retention.forward(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, d: d,
      heads: heads, gammas: gammas, out: out.value.baseAddress!, weights: weights.value.baseAddress!,
      sums: sums.value.baseAddress!, threads: 1)
    #expect(sums.array.contains { abs($0) > 1.1 } && sums.array.contains { abs($0) < 0.9 })
    #expect(checkOp([q, k, v], step: 5e-3) { $0.retention(q: q, k: k, v: v, heads: heads, gammas: gammas) }.isEmpty)
  }

  /// Group norm: gradients, and with unit weight and zero bias it is a layer norm of each group.
  @Test func groupNorm() {
    let x = randomTensor([2, 3, 8], seed: 29)
    let w = randomTensor([8], seed: 30)
    let b = randomTensor([8], seed: 31)
    #expect(checkOp([x, w, b], step: 5e-3) { $0.groupNorm(x, groups: 2, weight: w, bias: b) }.isEmpty)
    let ones = Tensor([Float](repeating: 1, count: 8), shape: [8])
    let zeros = Tensor(zeros: [8])
    let grouped = Tape(recording: false).groupNorm(x, groups: 2, weight: ones, bias: zeros)
    let perGroup = Tape(recording: false).layerNorm(
      Tensor(x.array, shape: [12, 4]), weight: Tensor([1, 1, 1, 1], shape: [4]), bias: Tensor(zeros: [4]))
    #expect(zip(grouped.array, perGroup.array).allSatisfy { abs($0 - $1) < 1e-5 })
  }

  @Test func sigmoidAndSiLU() {
    let x = randomTensor([2, 3, 7], seed: 17, scale: 3)
    #expect(checkOp([x], step: 1e-3) { $0.sigmoid(x) }.isEmpty)
    #expect(checkOp([x], step: 1e-3) { $0.silu(x) }.isEmpty)
    let y = Tape(recording: false).silu(Tensor([-30, 0, 2], shape: [3]))
    #expect(abs(y.value[0]) < 1e-10 && y.value[1] == 0 && abs(y.value[2] - 2 / (1 + exp(-2))) < 1e-6)
  }

  @Test func gatherAndScatterColumns() {
    let x = randomTensor([2, 3, 4], seed: 18)
    let indices = [3, 0, 0, 2, 1, 3]
    #expect(checkOp([x]) { $0.gatherColumns(x, indices) }.isEmpty)
    let wide = randomTensor([2, 3, 6], seed: 19)
    #expect(checkOp([wide]) { $0.scatterAddColumns(wide, indices, width: 4) }.isEmpty)
    let y = Tape(recording: false).scatterAddColumns(Tensor([1, 2, 3, 4, 5, 6], shape: [6]), indices, width: 4)
    #expect(y.array == [2 + 3, 5, 4, 1 + 6])
  }

  @Test func shiftSSMKernel() {
    let b = randomTensor([3, 5], seed: 20)
    let c = randomTensor([3, 5], seed: 21)
    #expect(checkOp([b, c]) { $0.shiftSSMKernel(b: b, c: c, length: 7) }.isEmpty)
    #expect(checkOp([b, c]) { $0.shiftSSMKernel(b: b, c: c, length: 3) }.isEmpty)
    // B = e₁ makes the kernel C itself, zero-padded.
    let e1 = Tensor([1, 0, 0], shape: [1, 3])
    let k = Tape(recording: false).shiftSSMKernel(b: e1, c: Tensor([4, 5, 6], shape: [1, 3]), length: 5)
    #expect(k.array == [4, 5, 6, 0, 0])
  }

  @Test func diagonalSSMKernel() {
    let logDt = randomTensor([2], seed: 22, scale: 0.5)
    let invAReal = randomTensor([2, 3], seed: 23, scale: 0.5)
    let aImag = randomTensor([2, 3], seed: 24, scale: 2)
    let b = randomTensor([2, 3, 2], seed: 25)
    let c = randomTensor([2, 3, 2], seed: 26)
    #expect(checkOp([logDt, invAReal, aImag, b, c], step: 1e-3) {
      $0.diagonalSSMKernel(logDt: logDt, invAReal: invAReal, aImag: aImag, b: b, c: c, length: 9)
    }.isEmpty)
  }

  /// The S4D kernel is the impulse response of its recurrence: convolving with it equals running
  /// `x_t = dA·x_{t−1} + dB·u_t`, `y_t = 2·Re(C·x_t)` step by step.
  @Test func diagonalSSMKernelIsTheRecurrencesImpulseResponse() {
    let (modes, length) = (4, 20)
    let logDt = Tensor([-2], shape: [1])
    let invAReal = randomTensor([1, modes], seed: 27, scale: 0.5)
    let aImag = randomTensor([1, modes], seed: 28, scale: 3)
    let b = randomTensor([1, modes, 2], seed: 29)
    let c = randomTensor([1, modes, 2], seed: 30)
    let kernel = Tape(recording: false).diagonalSSMKernel(logDt: logDt, invAReal: invAReal, aImag: aImag, b: b, c: c, length: length)
    var rng = SplitMix64(seed: 31)
    let u = (0..<length).map { _ in rng.nextGaussian() }
    var state = [Complex](repeating: Complex(0, 0), count: modes)
    var worst = 0.0
    for t in 0..<length {
      var y = 0.0
      for n in 0..<modes {
        let dt = exp(-2.0)
        let a = Complex(-exp(Double(invAReal.value[n])), Double(aImag.value[n])).scaled(dt / 2)
        let den = Complex(1 - a.re, -a.im)
        let dA = Complex(1 + a.re, a.im) / den
        let dB = Complex(Double(b.value[2 * n]), Double(b.value[2 * n + 1])).scaled(dt) / den
        state[n] = dA * state[n] + dB.scaled(u[t])
        y += 2 * (Complex(Double(c.value[2 * n]), Double(c.value[2 * n + 1])) * state[n]).re
      }
      let convolved = (0...t).reduce(0.0) { $0 + Double(kernel.value[$1]) * u[t - $1] }
      worst = max(worst, abs(convolved - y))
    }
    #expect(worst < 1e-5, "recurrence and kernel differ by \(worst)")
  }

  @Test func reluAndTranspose() {
    let x = randomTensor([2, 3, 5], seed: 16)
    #expect(checkOp([x], step: 1e-3) { $0.relu(x) }.isEmpty)
    #expect(checkOp([x]) { $0.transpose(x) }.isEmpty)
  }

  @Test func longConvolution() {
    let x = randomTensor([2, 7, 3], seed: 17)
    let k = randomTensor([3, 7], seed: 18)
    #expect(checkOp([x, k]) { $0.longConvolution(x, filter: k) }.isEmpty)
  }

  @Test func shortConvolution() {
    let x = randomTensor([2, 6, 4], seed: 19)
    let w = randomTensor([4, 1, 3], seed: 20)
    let b = randomTensor([4], seed: 21)
    #expect(checkOp([x, w, b]) { $0.shortConvolution(x, weight: w, bias: b) }.isEmpty)
  }

  @Test func tiedHeadCrossEntropy() {
    let x = randomTensor([5, 6], seed: 13)
    let table = randomTensor([11, 6], seed: 14)
    let targets: [Int32] = [3, -1, 10, 0, 3]
    let inputs = [x, table]
    let mismatches = GradientCheck.check(
      inputs: inputs, loss: { Tape(recording: false).tiedHeadCrossEntropy(x, table: table, targets: targets).mean }
    ) {
      for t in inputs { t.zeroGrad() }
      let tape = Tape()
      _ = tape.tiedHeadCrossEntropy(x, table: table, targets: targets)
      tape.backward()
      return inputs.map(\.gradArray)
    }
    #expect(mismatches.isEmpty, "\(mismatches)")
    let out = Tape(recording: false).tiedHeadCrossEntropy(x, table: table, targets: targets)
    #expect(out.perToken[1].isNaN && out.labeled == 4)
    // Against a direct log-softmax.
    var expected = 0.0
    for r in [0, 2, 3, 4] {
      var logits = [Double](repeating: 0, count: 11)
      for v in 0..<11 { for i in 0..<6 { logits[v] += Double(x.value[r * 6 + i]) * Double(table.value[v * 6 + i]) } }
      let m = logits.max()!
      let lse = m + Foundation.log(logits.map { Foundation.exp($0 - m) }.reduce(0, +))
      expected += lse - logits[Int(targets[r])]
    }
    #expect(abs(out.mean - expected / 4) < 1e-5)
  }

  /// Dropout (and attention dropout) with a fixed seed: the same masks in every pass, so the
  /// finite differences see the same function the backward differentiates.
  @Test func dropoutWithAFixedSeed() {
    let x = randomTensor([4, 5], seed: 22)
    let qkv = randomTensor([2, 6, 12], seed: 23)
    var rng = SplitMix64(seed: 24)
    let r = (0..<60).map { _ in rng.nextGaussian() }
    for (inputs, forward) in [
      ([x], { (tape: Tape) in tape.dropout(x, p: 0.3) }),
      ([qkv], { (tape: Tape) in tape.causalSelfAttention(qkv, heads: 2, dropout: 0.3) }),
      ([qkv], { (tape: Tape) in tape.slidingWindowAttention(qkv, heads: 2, window: 3, dropout: 0.3, blockRows: 2) }),
    ] as [([Tensor], (Tape) -> Tensor)] {
      func loss() -> Double {
        let y = forward(Tape(recording: false, dropoutSeed: 7))
        return (0..<y.count).reduce(0.0) { $0 + Double(y.value[$1]) * r[$1 % r.count] }
      }
      let mismatches = GradientCheck.check(inputs: inputs, step: 5e-3, loss: loss) {
        for t in inputs { t.zeroGrad() }
        let tape = Tape(dropoutSeed: 7)
        let y = forward(tape)
        for i in 0..<y.count { y.grad[i] = Float(r[i % r.count]) }
        tape.backward()
        return inputs.map(\.gradArray)
      }
      #expect(mismatches.isEmpty, "\(mismatches.prefix(3))")
    }
    // Some elements are dropped, the rest scaled by 1/(1 − p); no seed means no dropout.
    let y = Tape(dropoutSeed: 1).dropout(x, p: 0.5)
    #expect(y.array.contains(0) && zip(y.array, x.array).allSatisfy { $0 == 0 || abs($0 - 2 * $1) < 1e-6 })
    #expect(Tape().dropout(x, p: 0.5) === x)
  }

  /// The checker is not vacuous: a backward that is off by 10 % is caught.
  @Test func checkerCatchesAWrongBackward() {
    let x = randomTensor([20], seed: 15)
    let wrong: (Tape) -> Tensor = { tape in
      let y = Tensor(zeros: x.shape, requiresGrad: true)
      for i in 0..<x.count { y.value[i] = x.value[i] * x.value[i] }
      tape.record {
        for i in 0..<x.count { x.grad[i] += y.grad[i] * 2 * x.value[i] * 1.1 }
      }
      return y
    }
    #expect(!checkOp([x], wrong).isEmpty)
    let right: (Tape) -> Tensor = { tape in
      let y = Tensor(zeros: x.shape, requiresGrad: true)
      for i in 0..<x.count { y.value[i] = x.value[i] * x.value[i] }
      tape.record { for i in 0..<x.count { x.grad[i] += y.grad[i] * 2 * x.value[i] } }
      return y
    }
    #expect(checkOp([x], right).isEmpty)
  }

  @Test func fastExpIsAccurate() {
    var worst: Float = 0
    var x: Float = -87
    while x < 88 {
      let exact = Foundation.exp(Double(x))
      let approx = Double(FastMath.exp(x))
      worst = max(worst, Float(abs(approx - exact) / exact))
      x += 0.0137
    }
    #expect(worst < 3e-7)
    #expect(FastMath.exp(-100) == 0)
  }

  /// One AdamW step against PyTorch's formula written out.
  @Test func adamWMatchesTorchFormula() {
    let p = Tensor([1, -2, 0.5], shape: [3], requiresGrad: true)
    let g: [Float] = [0.1, -0.3, 0]
    for _ in 0..<2 {
      for i in 0..<3 { p.grad[i] = g[i] }
    }
    let adam = AdamW(sizes: [3], learningRate: 0.01, weightDecay: 0.1)
    var expected: [Double] = [1, -2, 0.5]
    var m = [Double](repeating: 0, count: 3)
    var v = [Double](repeating: 0, count: 3)
    for t in 1...3 {
      adam.update([p])
      for i in 0..<3 {
        expected[i] *= 1 - 0.01 * 0.1
        m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
        v[i] = 0.999 * v[i] + 0.001 * Double(g[i]) * Double(g[i])
        let mhat = m[i] / (1 - pow(0.9, Double(t)))
        let vhat = v[i] / (1 - pow(0.999, Double(t)))
        expected[i] -= 0.01 * mhat / (vhat.squareRoot() + 1e-8)
      }
    }
    for i in 0..<3 { #expect(abs(Double(p.value[i]) - expected[i]) < 1e-6) }
  }
}
