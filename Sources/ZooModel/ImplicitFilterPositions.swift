import Foundation

/// The positional features the implicit long-convolution filters of BaseConv and Hyena are made
/// from (Zoology's `PositionalEmbedding` with one band): for `t < lMax`, `w = 2πt/lMax`,
/// `z(t) = [t/(lMax−1), cos(10⁻⁴·w), −sin(10⁻⁴·w)]`, row-major `[lMax, 3]`.
func implicitFilterPositions(lMax: Int) -> [Float] {
  var z = [Float](repeating: 0, count: lMax * 3)
  for t in 0..<lMax {
    let w = 2 * Double.pi * Double(t) / Double(lMax)
    z[t * 3] = lMax > 1 ? Float(Double(t) / Double(lMax - 1)) : 0
    z[t * 3 + 1] = Float(cos(1e-4 * w))
    z[t * 3 + 2] = Float(-sin(1e-4 * w))
  }
  return z
}
