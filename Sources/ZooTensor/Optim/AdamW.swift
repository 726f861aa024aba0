import Foundation
import ZooSupport

/// AdamW as PyTorch's `torch.optim.AdamW` (decoupled weight decay `p -= lr·wd·p`, then the Adam
/// step with bias correction), applied to every parameter as Zoology does (no decay groups).
public final class AdamW {
  /// Learning rate (set per step by the schedule).
  public var learningRate: Float
  public let beta1: Float
  public let beta2: Float
  public let epsilon: Float
  public let weightDecay: Float
  /// Steps taken.
  public private(set) var step = 0
  /// First moments, one buffer per parameter.
  public private(set) var firstMoments: [[Float]]
  /// Second moments, one buffer per parameter.
  public private(set) var secondMoments: [[Float]]

  /// An optimizer for parameters of the given sizes.
  public init(
    sizes: [Int], learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
    weightDecay: Float = 0.01
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
    firstMoments = sizes.map { [Float](repeating: 0, count: $0) }
    secondMoments = firstMoments
  }

  /// Restores a saved state (checkpoint resume).
  public func restore(step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
    precondition(
      firstMoments.map(\.count) == self.firstMoments.map(\.count) && secondMoments.map(\.count) == self.secondMoments.map(\.count),
      "optimizer state does not match the parameters")
    self.step = step
    self.firstMoments = firstMoments
    self.secondMoments = secondMoments
  }

  /// One update of `parameters` from their gradients (a parameter without gradient is still decayed),
  /// on up to `threads` threads (the result does not depend on it).
  public func update(_ parameters: [Tensor], threads: Int = Compute.threads) {
    precondition(parameters.count == firstMoments.count)
    step += 1
    let t = Float(step)
    let correction1 = 1 - Foundation.pow(beta1, t)
    let correction2 = 1 - Foundation.pow(beta2, t)
    let stepSize = learningRate / correction1
    let decay = 1 - learningRate * weightDecay
    for (index, p) in parameters.enumerated() {
      let g = p.grad
      let value = p.value
      firstMoments[index].withUnsafeMutableBufferPointer { m in
        secondMoments[index].withUnsafeMutableBufferPointer { v in
          let shared = UncheckedSendable((m, v, g, value))
          let blocks = (p.count + 8191) / 8192
          parallelFor(blocks, threads: Compute.threads(threads, forWork: p.count)) { b in
            let (m, v, g, value) = shared.value
            for i in (b * 8192)..<min(p.count, (b + 1) * 8192) {
              value[i] *= decay
              m[i] = beta1 * m[i] + (1 - beta1) * g[i]
              v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i]
              let denominator = (v[i] / correction2).squareRoot() + epsilon
              value[i] -= stepSize * m[i] / denominator
            }
          }
        }
      }
    }
  }
}
