import ZooSupport

/// GELU with the error function, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch `F.gelu`).
/// `erf` is Abramowitz–Stegun 7.1.26 (absolute error below 1.5e-7), vectorized with
/// ``FastMath/exp(_:)-(SIMD8<Float>)``; the derivative is `Φ(x) + x·φ(x)`.
public enum GELU {
  /// `erf(x)` for eight lanes.
  @inline(__always)
  static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let negative = x .< 0
    let sign = SIMD8<Float>(repeating: 1).replacing(with: -1, where: negative)
    let a = x.replacing(with: -x, where: negative)
    let t = 1 / (1 + 0.327_591_1 * a)
    var p = SIMD8<Float>(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    p = p * t
    return sign * (1 - p * FastMath.exp(-a * a))
  }

  /// `gelu(x)` for eight lanes.
  @inline(__always)
  static func value(_ v: SIMD8<Float>) -> SIMD8<Float> { 0.5 * v * (1 + erf(v * 0.707_106_77)) }

  /// `gelu'(x)` for eight lanes.
  @inline(__always)
  static func slope(_ v: SIMD8<Float>) -> SIMD8<Float> {
    0.5 * (1 + erf(v * 0.707_106_77)) + v * 0.398_942_28 * FastMath.exp(-0.5 * v * v)
  }

  /// `y = gelu(x)` elementwise.
  public static func forward(_ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>) {
    let shared = UncheckedSendable((x, y))
    let blocks = (count + 4095) / 4096
    parallelFor(blocks, threads: Compute.threads) { b in
      let (x, y) = shared.value
      let upper = min(count, (b + 1) * 4096)
      var i = b * 4096
      while i + 8 <= upper {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: value(v), as: SIMD8<Float>.self)
        i += 8
      }
      while i < upper {
        y[i] = value(SIMD8(repeating: x[i]))[0]
        i += 1
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
      let upper = min(count, (b + 1) * 4096)
      var i = b * 4096
      while i + 8 <= upper {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
        let old = UnsafeRawPointer(dx + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(dx + i).storeBytes(of: old + g * slope(v), as: SIMD8<Float>.self)
        i += 8
      }
      while i < upper {
        dx[i] += dy[i] * slope(SIMD8(repeating: x[i]))[0]
        i += 1
      }
    }
  }
}

extension Tape {
  /// Elementwise GELU.
  public func gelu(_ x: Tensor) -> Tensor {
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    GELU.forward(x.value.baseAddress!, count: x.count, into: y.value.baseAddress!)
    record {
      guard x.requiresGrad else { return }
      GELU.backward(x.value.baseAddress!, count: x.count, dy: y.grad.baseAddress!, dx: x.grad.baseAddress!)
    }
    return y
  }
}
