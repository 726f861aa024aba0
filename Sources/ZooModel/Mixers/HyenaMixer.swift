import Foundation
import ZooTensor

/// Hyena (Zoology's `hyena.py`, docs/MODELS.md, "Hyena"), order 2:
/// `z = conv3(in_proj(u))`, split into `x1, x2, v`; `v ← v ⊙ x1`; `v ← k ∗ v + D ⊙ v` (long FFT
/// convolution); `y = out_proj(v ⊙ x2)`. The filter `k` is implicit: an MLP
/// (3 → 64, sin, 64 → 64, sin, 64 → 64, sin, 64 → d without bias; one learned frequency vector
/// shared by the sines) of a learned positional embedding `[t̂, cos(f·w), −sin(f·w)]`, then
/// modulated by `exp(−t̂·|δ_c|)` with fixed decays `δ` from ln(0.01)/1.5 to ln(0.01)/0.3.
public final class HyenaMixer: SequenceMixer {
  /// Hyena has no options of its own (order 2, filter MLP width 64; the filter length is the model's `l_max`).
  public struct Config: MixerConfig, Equatable {
    public static let name = "hyena"
    public static let summary = "order-2 Hyena: gates around an implicit long convolution (MLP filter, decay window) by FFT"
    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config() }
    public func validate(dModel: Int) throws {}
    public func makeMixer(context: MixerContext) -> any SequenceMixer { HyenaMixer(context: context) }
  }

  static let order = 64
  let inWeight, inBias, convWeight, convBias, outWeight, outBias: NamedParameter
  let positions, frequency, bias: NamedParameter
  let filter: [(weight: NamedParameter, bias: NamedParameter?)]
  /// `exp(−t̂·|δ_c|)` as `[l_max, d]`.
  let modulation: Tensor
  let d: Int

  public init(context: MixerContext) {
    d = context.dModel
    let lMax = context.lMax
    inWeight = NamedParameter("in_proj.weight", [3 * d, d], std: context.std)
    inBias = NamedParameter("in_proj.bias", [3 * d], std: nil)
    let bound = 1 / Float(3).squareRoot()  // PyTorch Conv1d default, fan_in = 3
    convWeight = NamedParameter("short_filter.weight", [3 * d, 1, 3], initializer: .uniform(bound: bound))
    convBias = NamedParameter("short_filter.bias", [3 * d], initializer: .uniform(bound: bound))
    outWeight = NamedParameter("out_proj.weight", [d, d], std: context.outputStd)
    outBias = NamedParameter("out_proj.bias", [d], std: nil)
    let z = implicitFilterPositions(lMax: lMax)
    positions = NamedParameter("filter_fn.pos_emb.z", [lMax, 3], initializer: .custom { _ in z })
    frequency = NamedParameter("filter_fn.implicit_filter.1.freq", [Self.order], initializer: .constant(1))
    bias = NamedParameter("filter_fn.bias", [d], initializer: .normal(std: 1))
    filter = [
      (NamedParameter("filter_fn.implicit_filter.0.weight", [Self.order, 3], std: context.std),
       NamedParameter("filter_fn.implicit_filter.0.bias", [Self.order], std: nil)),
      (NamedParameter("filter_fn.implicit_filter.2.weight", [Self.order, Self.order], std: context.std),
       NamedParameter("filter_fn.implicit_filter.2.bias", [Self.order], std: nil)),
      (NamedParameter("filter_fn.implicit_filter.4.weight", [Self.order, Self.order], std: context.std),
       NamedParameter("filter_fn.implicit_filter.4.bias", [Self.order], std: nil)),
      (NamedParameter("filter_fn.implicit_filter.6.weight", [d, Self.order], std: context.std), nil),
    ]
    modulation = Tensor(zeros: [lMax, d])
    let slow = Foundation.log(1e-2) / 1.5
    let fast = Foundation.log(1e-2) / 0.3
    for t in 0..<lMax {
      let tHat = lMax > 1 ? Double(t) / Double(lMax - 1) : 0
      for c in 0..<d {
        let delta = d > 1 ? slow + (fast - slow) * Double(c) / Double(d - 1) : slow
        modulation.value[t * d + c] = Float(Foundation.exp(-tHat * abs(delta)))
      }
    }
  }

  public var parameters: [NamedParameter] {
    [inWeight, inBias, convWeight, convBias, outWeight, outBias, positions, frequency, bias]
      + filter.flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
  }

  /// The long convolution's input window, `d·L`.
  public func stateSize(length: Int) -> Int { d * length }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let length = x.shape[1]
    let z = tape.shortConvolution(tape.linear(x, weight: inWeight.tensor, bias: inBias.tensor), weight: convWeight.tensor, bias: convBias.tensor)
    let x1 = tape.columns(z, 0..<d)
    let x2 = tape.columns(z, d..<(2 * d))
    let v = tape.multiply(tape.columns(z, (2 * d)..<(3 * d)), x1)
    // The filter for the first `length` positions: [length, d] → [d, length].
    var h = tape.rows(positions.tensor, 0..<length)
    for (i, layer) in filter.enumerated() {
      h = tape.linear(h, weight: layer.weight.tensor, bias: layer.bias?.tensor)
      if i < filter.count - 1 { h = tape.sin(h, frequency: frequency.tensor) }
    }
    let window = Tensor(Array(modulation.value[0..<(length * d)]), shape: [length, d])
    let k = tape.transpose(tape.multiply(h, window))
    let convolved = tape.add(tape.longConvolution(v, filter: k), tape.scaleColumns(v, by: bias.tensor))
    return tape.linear(tape.multiply(convolved, x2), weight: outWeight.tensor, bias: outBias.tensor)
  }
}
