import Foundation

/// The positional features the implicit long-convolution filters of BaseConv, Hyena and Long Conv
/// are made from (Zoology's `PositionalEmbedding`, `emb_dim = 1 + 2·bands`): for `t < lMax`,
/// `w = 2πt/lMax` and the frequencies `f = linspace(10⁻⁴, bands−1, bands)`,
/// `z(t) = [t/(lMax−1), cos(f_1·w), …, cos(f_b·w), −sin(f_1·w), …, −sin(f_b·w)]`, row-major
/// `[lMax, 1 + 2·bands]`. With one band (BaseConv, Hyena): `[t/(lMax−1), cos(10⁻⁴·w), −sin(10⁻⁴·w)]`.
func implicitFilterPositions(lMax: Int, bands: Int = 1) -> [Float] {
  precondition(bands >= 1, "at least one band")
  let width = 1 + 2 * bands
  let f = (0..<bands).map { j in bands > 1 ? 1e-4 + (Double(bands - 1) - 1e-4) * Double(j) / Double(bands - 1) : 1e-4 }
  var z = [Float](repeating: 0, count: lMax * width)
  for t in 0..<lMax {
    let w = 2 * Double.pi * Double(t) / Double(lMax)
    z[t * width] = lMax > 1 ? Float(Double(t) / Double(lMax - 1)) : 0
    for j in 0..<bands {
      z[t * width + 1 + j] = Float(cos(f[j] * w))
      z[t * width + 1 + bands + j] = Float(-sin(f[j] * w))
    }
  }
  return z
}
