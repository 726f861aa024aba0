import ZooSupport

/// GELU with the error function, `x · Φ(x) = x/2 · (1 + erf(x/√2))` (PyTorch `F.gelu`).
/// `erf` is Abramowitz–Stegun 7.1.26 (absolute error below 1.5e-7), vectorized with
/// ``FastMath/exp(_:)-(SIMD8<Float>)``; the derivative is `Φ(x) + x·φ(x)`, with `Φ(x)` kept
/// from the forward pass.
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

  /// `Φ(x) = (1 + erf(x/√2))/2` for eight lanes.
  @inline(__always)
  static func cdf(_ v: SIMD8<Float>) -> SIMD8<Float> { 0.5 * (1 + erf(v * 0.707_106_77)) }

  /// `y = gelu(x) = x·Φ(x)` elementwise; `Φ(x)` is saved in `cdfs` for backward.
  public static func forward(
    _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>, cdfs: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((x, y, cdfs))
    let blocks = (count + 4095) / 4096
    parallelFor(blocks, threads: Compute.threads(threads, forWork: count)) { b in
      let (x, y, cdfs) = shared.value
      let upper = min(count, (b + 1) * 4096)
      var i = b * 4096
      while i + 8 <= upper {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        let c = cdf(v)
        UnsafeMutableRawPointer(cdfs + i).storeBytes(of: c, as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: v * c, as: SIMD8<Float>.self)
        i += 8
      }
      while i < upper {
        let c = cdf(SIMD8(repeating: x[i]))[0]
        cdfs[i] = c
        y[i] = x[i] * c
        i += 1
      }
    }
  }

  /// Adds `dy · (Φ(x) + x·φ(x))` into `dx`.
  public static func backward(
    _ x: UnsafePointer<Float>, cdfs: UnsafePointer<Float>, count: Int, dy: UnsafePointer<Float>,
    dx: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let shared = UncheckedSendable((x, cdfs, dy, dx))
    let blocks = (count + 4095) / 4096
    parallelFor(blocks, threads: Compute.threads(threads, forWork: count)) { b in
      let (x, cdfs, dy, dx) = shared.value
      let upper = min(count, (b + 1) * 4096)
      var i = b * 4096
      while i + 8 <= upper {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
        let c = UnsafeRawPointer(cdfs + i).loadUnaligned(as: SIMD8<Float>.self)
        let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
        let old = UnsafeRawPointer(dx + i).loadUnaligned(as: SIMD8<Float>.self)
        let slope = c + v * 0.398_942_28 * FastMath.exp(-0.5 * v * v)
        UnsafeMutableRawPointer(dx + i).storeBytes(of: old + g * slope, as: SIMD8<Float>.self)
        i += 8
      }
      while i < upper {
        let v = x[i]
        dx[i] += dy[i] * (cdfs[i] + v * 0.398_942_28 * FastMath.exp(-0.5 * v * v))
        i += 1
      }
    }
  }
}

extension Tape {
  /// Elementwise GELU.
  public func gelu(_ x: Tensor) -> Tensor {
    let threads = self.threads
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    let cdfs = Tensor(uninitialized: x.shape)
    GELU.forward(x.value.baseAddress!, count: x.count, into: y.value.baseAddress!, cdfs: cdfs.value.baseAddress!, threads: threads)
    record {
      guard x.requiresGrad else { return }
      GELU.backward(
        x.value.baseAddress!, cdfs: cdfs.value.baseAddress!, count: x.count, dy: y.grad.baseAddress!,
        dx: x.grad.baseAddress!, threads: threads)
    }
    return y
  }
}
