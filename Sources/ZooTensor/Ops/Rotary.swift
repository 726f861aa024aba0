import Foundation

/// Rotary position rotation (RoPE; RetNet's `Θ_n = e^{inθ}`, without xPos's length scale, as
/// torchscale's RetNet): in each head of `head_dim` channels, the channel pair `(2i, 2i+1)` at
/// position `n` is rotated by the angle `n·θ_i`, `θ_i = 10000^(−2i/head_dim)`; a last, odd channel
/// is left as is. Then `rot(q_n)·rot(k_m)` depends on `n − m` only. (torchscale spaces its angles
/// as `10000^(−linspace(0, 1, head_dim/2))`; this uses the usual RoPE spacing.)
///
/// The rotation is orthogonal, so backward rotates the gradient back by `−n·θ_i`.
public enum Rotary {
  /// `cos(n·θ_i)` and `sin(n·θ_i)` for `n < length`, `i < headDim/2`, row-major `[length, headDim/2]`.
  static func table(length: Int, headDim: Int) -> (cos: [Float], sin: [Float]) {
    let pairs = headDim / 2
    var cos = [Float](repeating: 0, count: length * pairs)
    var sin = [Float](repeating: 0, count: length * pairs)
    for n in 0..<length {
      for i in 0..<pairs {
        let angle = Double(n) * Foundation.pow(10_000, -2 * Double(i) / Double(headDim))
        cos[n * pairs + i] = Float(Foundation.cos(angle))
        sin[n * pairs + i] = Float(Foundation.sin(angle))
      }
    }
    return (cos, sin)
  }

  /// Writes `x` (`[batch, length, d]`, `heads` heads) rotated by `+n·θ_i` into `y`.
  public static func forward(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, into y: UnsafeMutablePointer<Float>
  ) {
    rotate(x, batch: batch, length: length, d: d, heads: heads, direction: 1, into: y, adding: false)
  }

  /// Adds `dy` rotated back by `−n·θ_i` into `dx`.
  public static func backward(
    dy: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, dx: UnsafeMutablePointer<Float>
  ) {
    rotate(dy, batch: batch, length: length, d: d, heads: heads, direction: -1, into: dx, adding: true)
  }

  /// `out (+)= R(direction·n·θ_i) x`, pair by pair: `out0 = x0·c − x1·s`, `out1 = x1·c + x0·s` with
  /// `s = direction·sin` (negating is exact, so the backward's bits are those of `R(−n·θ_i)`).
  static func rotate(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, heads: Int, direction: Float,
    into out: UnsafeMutablePointer<Float>, adding: Bool
  ) {
    let hd = d / heads
    let pairs = hd / 2
    let (cos, sin) = table(length: length, headDim: hd)
    for b in 0..<batch {
      for n in 0..<length {
        let row = (b * length + n) * d
        for h in 0..<heads {
          let xh = x + row + h * hd
          let oh = out + row + h * hd
          for i in 0..<pairs {
            let (c, s) = (cos[n * pairs + i], direction * sin[n * pairs + i])
            let (x0, x1) = (xh[2 * i], xh[2 * i + 1])
            let (y0, y1) = (x0 * c - x1 * s, x1 * c + x0 * s)
            if adding { (oh[2 * i], oh[2 * i + 1]) = (oh[2 * i] + y0, oh[2 * i + 1] + y1) } else { (oh[2 * i], oh[2 * i + 1]) = (y0, y1) }
          }
          if hd % 2 == 1 { oh[hd - 1] = adding ? oh[hd - 1] + xh[hd - 1] : xh[hd - 1] }
        }
      }
    }
  }
}

extension Tape {
  /// Rotary position rotation of `x` (`[batch, length, d]`) in each of `heads` heads.
  public func rotary(_ x: Tensor, heads: Int) -> Tensor {
    precondition(x.shape.count == 3 && x.shape[2] % heads == 0, "rotary: \(x.shape) with \(heads) heads")
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    Rotary.forward(x.value.baseAddress!, batch: batch, length: length, d: d, heads: heads, into: y.value.baseAddress!)
    record {
      guard x.requiresGrad else { return }
      Rotary.backward(dy: y.grad.baseAddress!, batch: batch, length: length, d: d, heads: heads, dx: x.grad.baseAddress!)
    }
    return y
  }
}
