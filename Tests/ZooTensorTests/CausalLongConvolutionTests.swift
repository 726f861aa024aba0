import Testing
import ZooSupport

@testable import ZooTensor

@Suite struct CausalLongConvolutionTests {
  private func random(_ n: Int, _ rng: inout SplitMix64) -> [Float] {
    (0..<n).map { _ in Float(rng.nextGaussian()) }
  }

  /// Odd and even batch counts (the last row of an odd batch has no partner), channel counts
  /// below, at and past a multiple of the eight lanes.
  @Test(arguments: [(1, 1, 3), (2, 2, 8), (3, 3, 11), (5, 7, 16), (4, 16, 3), (3, 33, 9), (2, 100, 20)])
  func forwardMatchesTheDefinition(B: Int, T: Int, C: Int) {
    var rng = SplitMix64(seed: UInt64(T * 100 + C))
    let x = random(B * T * C, &rng)
    let k = random(C * T, &rng)
    var y = [Float](repeating: 7, count: B * T * C)  // overwritten
    var ref = y
    CausalLongConvolution.forward(y: &y, x: x, k: k, batch: B, T: T, channels: C, threads: 2)
    CausalLongConvolution.reference(y: &ref, x: x, k: k, batch: B, T: T, channels: C)
    for i in 0..<B * T * C {
      #expect(abs(y[i] - ref[i]) <= 1e-4 + 1e-4 * abs(ref[i]), "B \(B) T \(T) C \(C) index \(i): \(y[i]) vs \(ref[i])")
    }
  }

  /// Backward equals the gradient of L = Σ y·dY, computed from the definition in Double.
  @Test(arguments: [(1, 1, 2), (3, 5, 9), (2, 31, 8), (5, 64, 3)])
  func backwardMatchesTheDefinition(B: Int, T: Int, C: Int) {
    var rng = SplitMix64(seed: 100 + UInt64(T))
    let x = random(B * T * C, &rng)
    let k = random(C * T, &rng)
    let dY = random(B * T * C, &rng)
    var dX = [Float](repeating: 0.5, count: B * T * C)  // accumulates onto what is there
    var dK = [Float](repeating: 0.25, count: C * T)
    CausalLongConvolution.backward(dX: &dX, dK: &dK, dY: dY, x: x, k: k, batch: B, T: T, channels: C, threads: 2)
    var expectX = [Double](repeating: 0.5, count: B * T * C)
    var expectK = [Double](repeating: 0.25, count: C * T)
    for b in 0..<B {
      for t in 0..<T {
        for c in 0..<C {
          for s in 0...t {
            // y[b,t,c] += k[c,s] * x[b,t-s,c]
            let g = Double(dY[(b * T + t) * C + c])
            expectK[c * T + s] += g * Double(x[(b * T + t - s) * C + c])
            expectX[(b * T + t - s) * C + c] += g * Double(k[c * T + s])
          }
        }
      }
    }
    for i in 0..<B * T * C { #expect(abs(Double(dX[i]) - expectX[i]) <= 1e-3 + 1e-4 * abs(expectX[i]), "dX[\(i)]") }
    for i in 0..<C * T { #expect(abs(Double(dK[i]) - expectK[i]) <= 1e-3 + 1e-4 * abs(expectK[i]), "dK[\(i)]") }
  }

  /// Causal, and the same bits for 1, 2 and 3 threads on a shape with several channel groups.
  @Test func causalAndThreadIndependent() {
    var rng = SplitMix64(seed: 9)
    let (B, T, C) = (3, 50, 40)
    var x = random(B * T * C, &rng)
    let k = random(C * T, &rng)
    let dY = random(B * T * C, &rng)
    func run(_ threads: Int, _ x: [Float]) -> (y: [Float], dX: [Float], dK: [Float]) {
      var y = [Float](repeating: 0, count: B * T * C)
      var dX = y
      var dK = [Float](repeating: 0, count: C * T)
      CausalLongConvolution.forward(y: &y, x: x, k: k, batch: B, T: T, channels: C, threads: threads)
      CausalLongConvolution.backward(dX: &dX, dK: &dK, dY: dY, x: x, k: k, batch: B, T: T, channels: C, threads: threads)
      return (y, dX, dK)
    }
    let one = run(1, x)
    for threads in [2, 3] {
      let other = run(threads, x)
      #expect(one.y == other.y && one.dX == other.dX && one.dK == other.dK, "\(threads) threads")
    }
    for b in 0..<B { for c in 0..<C { x[(b * T + 30) * C + c] += 1 } }  // change the input from t = 30 on
    let changed = run(2, x).y
    // FFT products mix every position in floating point, so earlier outputs may move by
    // rounding (~1e-6); a wrap-around (non-causal) bug moves them by O(1).
    for b in 0..<B {
      for c in 0..<C {
        for t in 0..<30 {
          let i = (b * T + t) * C + c
          #expect(abs(changed[i] - one.y[i]) <= 1e-5 * (1 + abs(one.y[i])), "row \(b) channel \(c) t \(t)")
        }
        let i = (b * T + 30) * C + c
        #expect(abs(changed[i] - one.y[i]) > 1e-3, "row \(b) channel \(c): the changed input has no effect")
      }
    }
  }
}
