import Foundation
import ZooTensor

/// RWKV v4's time mixing (Zoology's `RWKVTimeMixer`, docs/MODELS.md, "RWKV"):
/// `x'` = `x` shifted one step later; `k = W_k(μ_k x + (1−μ_k) x')`, `v`, `r` likewise with `μ_v`,
/// `μ_r` (no biases); `y = W_o(σ(r) ⊙ wkv(k, v))` with per-channel decay `exp(time_decay)` and
/// bonus `time_first` (see ``WKV``).
///
/// Initialization as Zoology's constructor with its default `n_layer = 12` (not the model depth):
/// with `r01 = layer/11` and `r10 = 1 − layer/12`, `time_decay_c = −5 + 8·(c/(d−1))^{0.7+1.3·r01}`,
/// `time_first_c = ln 0.3 + 0.5·((c+1) mod 3 − 1)`, `μ_k = (c/d)^{r10}`, `μ_v = (c/d)^{r10} + 0.3·r01`,
/// `μ_r = (c/d)^{r10/2}`. All four projections are N(0, std): Zoology scales only weights named
/// `out_proj`/`fc2`, so `output.weight` keeps the plain std.
public final class RWKVMixer: SequenceMixer {
  /// RWKV has no options (one head per channel; its init depends only on the layer index).
  public struct Config: MixerConfig, Equatable {
    public static let name = "rwkv"
    public static let summary = "RWKV v4 time mixing (WKV with per-channel decay and bonus, receptance gate)"
    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config() }
    public func validate(dModel: Int) throws {}
    public func makeMixer(context: MixerContext) -> any SequenceMixer { RWKVMixer(context: context) }
  }

  /// Zoology's `RWKVTimeMixer` default, which its model never overrides.
  static let initLayers = 12
  let timeDecay, timeFirst, mixK, mixV, mixR: NamedParameter
  let key, value, receptance, output: NamedParameter
  let d: Int

  public init(context: MixerContext) {
    let d = context.dModel
    self.d = d
    let r01 = Double(context.layer) / Double(Self.initLayers - 1)
    let r10 = 1 - Double(context.layer) / Double(Self.initLayers)
    // `f(c)` for every channel, as a deterministic initializer.
    func perChannel(_ f: @escaping (Double) -> Double) -> NamedParameter.Initializer {
      .custom { _ in (0..<d).map { Float(f(Double($0))) } }
    }
    let fraction = { (c: Double) in c / Double(d) }
    timeDecay = NamedParameter(
      "time_decay", [d],
      initializer: perChannel { c in -5 + 8 * Foundation.pow(d > 1 ? c / Double(d - 1) : 0, 0.7 + 1.3 * r01) })
    timeFirst = NamedParameter(
      "time_first", [d],
      initializer: perChannel { c in Foundation.log(0.3) + 0.5 * Double((Int(c) + 1) % 3 - 1) })
    mixK = NamedParameter("time_mix_k", [1, 1, d], initializer: perChannel { c in Foundation.pow(fraction(c), r10) })
    mixV = NamedParameter("time_mix_v", [1, 1, d], initializer: perChannel { c in Foundation.pow(fraction(c), r10) + 0.3 * r01 })
    mixR = NamedParameter("time_mix_r", [1, 1, d], initializer: perChannel { c in Foundation.pow(fraction(c), 0.5 * r10) })
    key = NamedParameter("key.weight", [d, d], std: context.std)
    value = NamedParameter("value.weight", [d, d], std: context.std)
    receptance = NamedParameter("receptance.weight", [d, d], std: context.std)
    output = NamedParameter("output.weight", [d, d], std: context.std)
  }

  public var parameters: [NamedParameter] { [timeDecay, timeFirst, mixK, mixV, mixR, key, value, receptance, output] }

  /// The recurrent form's state: the WKV numerator and denominator sums per channel and the
  /// previous token for the shift, `3·d` (the running maximum exponent is a numerical device
  /// of the stabilized form, not state).
  public func stateSize(length: Int) -> Int { 3 * d }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let shifted = tape.timeShift(x)
    let k = tape.linear(tape.lerp(shifted, x, weight: mixK.tensor), weight: key.tensor, bias: nil)
    let v = tape.linear(tape.lerp(shifted, x, weight: mixV.tensor), weight: value.tensor, bias: nil)
    let r = tape.sigmoid(tape.linear(tape.lerp(shifted, x, weight: mixR.tensor), weight: receptance.tensor, bias: nil))
    let mixed = tape.wkv(timeDecay: timeDecay.tensor, timeFirst: timeFirst.tensor, k: k, v: v)
    return tape.linear(tape.multiply(r, mixed), weight: output.tensor, bias: nil)
  }
}
