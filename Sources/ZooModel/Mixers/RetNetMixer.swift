import Foundation
import ZooTensor

/// RetNet's multi-scale retention (docs/MODELS.md, "RetNet"; torchscale's `MultiScaleRetention`):
/// `q`, `k`, `v`, `g` projections (no biases), rotary positions on `q` and `k`, retention with one
/// decay per head `γ_h = 1 − 2^(−5−h)`, a per-head group norm (weight and bias per channel), the
/// gate `swish(g) ⊙ Y`, and `out_proj`.
public final class RetNetMixer: SequenceMixer {
  /// RetNet's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "retnet"
    public static let summary = "multi-scale retention: one decay per head, rotary positions, group norm, swish gate"
    @MixerOption("heads, each with its own decay (must divide d_model)") public var numHeads = 1

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(numHeads: 2) }

    public func validate(dModel: Int) throws { try validateHeads(numHeads, dModel: dModel) }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { RetNetMixer(context: context, heads: numHeads) }
  }

  let d, heads: Int
  let gammas: [Double]
  let wq, wk, wv, wg, normWeight, normBias, wout: NamedParameter

  public init(context: MixerContext, heads: Int) {
    let d = context.dModel
    self.d = d
    self.heads = heads
    gammas = (0..<heads).map { 1 - Foundation.pow(2, -5 - Double($0)) }
    wq = NamedParameter("q_proj.weight", [d, d], std: context.std)
    wk = NamedParameter("k_proj.weight", [d, d], std: context.std)
    wv = NamedParameter("v_proj.weight", [d, d], std: context.std)
    wg = NamedParameter("g_proj.weight", [d, d], std: context.std)
    normWeight = NamedParameter("group_norm.weight", [d], std: nil, value: 1)
    normBias = NamedParameter("group_norm.bias", [d], std: nil)
    wout = NamedParameter("out_proj.weight", [d, d], std: context.outputStd)
  }

  public var parameters: [NamedParameter] { [wq, wk, wv, wg, normWeight, normBias, wout] }

  /// The recurrent state `S` of each head, `head_dim × head_dim`: `heads · (d/heads)²`. (The
  /// decay normalizer's running count and the `d/heads` running key sum of the `|Σ_m R_nm|`
  /// normalizer, see ``Retention/recurrent(q:k:v:batch:length:d:heads:gammas:out:)``, are not counted.)
  public func stateSize(length: Int) -> Int { heads * (d / heads) * (d / heads) }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let q = tape.rotary(tape.linear(x, weight: wq.tensor, bias: nil), heads: heads)
    let k = tape.rotary(tape.linear(x, weight: wk.tensor, bias: nil), heads: heads)
    let v = tape.linear(x, weight: wv.tensor, bias: nil)
    let g = tape.linear(x, weight: wg.tensor, bias: nil)
    let retained = tape.retention(q: q, k: k, v: v, heads: heads, gammas: gammas)
    let y = tape.groupNorm(retained, groups: heads, weight: normWeight.tensor, bias: normBias.tensor)
    return tape.linear(tape.multiply(tape.silu(g), y), weight: wout.tensor, bias: nil)
  }
}
