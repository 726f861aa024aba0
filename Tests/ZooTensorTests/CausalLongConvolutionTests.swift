import Testing
import ZooSupport

@testable import ZooTensor

@Suite struct CausalLongConvolutionTests {
  private func random(_ n: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<n).map { _ in Float(rng.nextGaussian()) }
  }

  @Test(arguments: [1, 2, 3, 7, 16, 33, 100])
  func forwardMatchesTheDefinition(T: Int) {
    var rng = SplitMix64(seed: UInt64(T))
    let C = 6
    let channels = 3
    let u = random(C * T, &rng)
    let k = random(channels * T, &rng)
    var y = [Float](repeating: 0, count: C * T)
    var ref = y
    CausalLongConvolution.forward(y: &y, u: u, k: k, rows: C, T: T, filterOf: { $0 % 3 }, threads: 2)
    CausalLongConvolution.reference(y: &ref, u: u, k: k, rows: C, T: T, filterOf: { $0 % 3 })
    for i in 0..<C * T {
      #expect(abs(y[i] - ref[i]) <= 1e-4 + 1e-4 * abs(ref[i]), "T \(T) index \(i): \(y[i]) vs \(ref[i])")
    }
  }

  /// Backward equals the gradient of L = Σ y·dY, computed from the definition in Double.
  @Test(arguments: [1, 5, 31, 64])
  func backwardMatchesTheDefinition(T: Int) {
    var rng = SplitMix64(seed: 100 + UInt64(T))
    let C = 4
    let u = random(C * T, &rng)
    let k = random(2 * T, &rng)
    let dY = random(C * T, &rng)
    var dU = [Float](repeating: 0.5, count: C * T)  // accumulates onto what is there
    var dK = [Float](repeating: 0.25, count: 2 * T)
    CausalLongConvolution.backward(dU: &dU, dK: &dK, dY: dY, u: u, k: k, rows: C, T: T, filterOf: { $0 / 2 }, threads: 2)
    var expectU = [Double](repeating: 0.5, count: C * T)
    var expectK = [Double](repeating: 0.25, count: 2 * T)
    for c in 0..<C {
      for t in 0..<T {
        for s in 0...t {
          // y[c,t] += k[f,s] * u[c,t-s]
          expectK[(c / 2) * T + s] += Double(dY[c * T + t]) * Double(u[c * T + t - s])
          expectU[c * T + t - s] += Double(dY[c * T + t]) * Double(k[(c / 2) * T + s])
        }
      }
    }
    for i in 0..<C * T { #expect(abs(Double(dU[i]) - expectU[i]) <= 1e-3 + 1e-4 * abs(expectU[i]), "dU[\(i)]") }
    for i in 0..<2 * T { #expect(abs(Double(dK[i]) - expectK[i]) <= 1e-3 + 1e-4 * abs(expectK[i]), "dK[\(i)]") }
  }

  @Test func causalAndThreadIndependent() {
    var rng = SplitMix64(seed: 9)
    let C = 5
    let T = 50
    var u = random(C * T, &rng)
    let k = random(C * T, &rng)
    var one = [Float](repeating: 0, count: C * T)
    var two = one
    CausalLongConvolution.forward(y: &one, u: u, k: k, rows: C, T: T, filterOf: { $0 }, threads: 1)
    CausalLongConvolution.forward(y: &two, u: u, k: k, rows: C, T: T, filterOf: { $0 }, threads: 2)
    #expect(one == two)
    for c in 0..<C { u[c * T + 30] += 1 }  // change the input from t = 30 on
    var changed = [Float](repeating: 0, count: C * T)
    CausalLongConvolution.forward(y: &changed, u: u, k: k, rows: C, T: T, filterOf: { $0 }, threads: 2)
    // FFT products mix every position in floating point, so earlier outputs may move by
    // rounding (~1e-6); a wrap-around (non-causal) bug moves them by O(1).
    for c in 0..<C {
      for t in 0..<30 {
        let i = c * T + t
        #expect(abs(changed[i] - one[i]) <= 1e-5 * (1 + abs(one[i])), "row \(c) t \(t): \(changed[i]) vs \(one[i])")
      }
      #expect(abs(changed[c * T + 30] - one[c * T + 30]) > 1e-3, "row \(c): the changed input has no effect")
    }
  }
}
