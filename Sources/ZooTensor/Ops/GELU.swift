import Foundation
import ZooSupport

/// GELU with the exact error function, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch `F.gelu`).
public enum GELU {
  /// `y = gelu(x)` elementwise.
  public static func forward(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    let shared = UncheckedSendable((x, y))
    let blocks = (count + 4095) / 4096
    parallelFor(blocks, threads: Compute.threads) { b in
      let (x, y) = shared.value
      for i in (b * 4096)..<min(count, (b + 1) * 4096) {
        y[i] = 0.5 * x[i] * (1 + erf(x[i] * 0.707_106_77))
      }
    }
  }

  /// Adds `dy · gelu'(x)` into `dx`.
  public static func backward(
    _ x: UnsafePointer<Float>, count: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>
  ) {
    let shared = UncheckedSendable((x, dy, dx))
    let blocks = (count + 4095) / 4096
    parallelFor(blocks, threads: Compute.threads) { b in
      let (x, dy, dx) = shared.value
      for i in (b * 4096)..<min(count, (b + 1) * 4096) {
        let v = x[i]
        let cdf = 0.5 * (1 + erf(v * 0.707_106_77))
        let pdf = 0.398_942_28 * Foundation.exp(-0.5 * v * v)
        dx[i] += dy[i] * (cdf + v * pdf)
      }
    }
  }
}

extension Tape {
  /// Elementwise exact GELU.
  public func gelu(_ x: Tensor) -> Tensor {
    let y = Tensor(zeros: x.shape, requiresGrad: true)
    GELU.forward(x.value.baseAddress!, count: x.count, into: y.value.baseAddress!)
    record {
      guard x.requiresGrad else { return }
      GELU.backward(x.value.baseAddress!, count: x.count, dy: y.grad.baseAddress!, dx: x.grad.baseAddress!)
    }
    return y
  }
}
