import Foundation
import ZooSupport
import ZooTensor

/// Zoology's Gated DeltaNet (`zoology/mixers/gated_delta_net.py`, flash-linear-attention's
/// `GatedDeltaNet` layer; Yang, Kautz and Hatamizadeh 2024): DeltaNet's block with a decay per
/// head and token, `H` heads of `K = ⌊d/H⌋` key and `V = K·expand_v` value channels:
///
///     q, k = l2norm(SiLU(conv(q_proj(x)))), l2norm(SiLU(conv(k_proj(x))))   per head, no biases
///     v    = SiLU(conv(v_proj(x)))                                         depthwise, kernel conv_size
///     β    = σ(b_proj(x)),   g = −exp(A_log) ⊙ softplus(a_proj(x) + dt_bias)   one each per head
///     o    = deltaRule(q, k, v, β, g)      S_t = e^{g_t} (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ, o_t = S_tᵀ q_t/√K
///     y    = o_proj(RMSNorm(o) [⊙ SiLU(g_proj(x))])                        RMSNorm per head, weight shared
///
/// trained in the chunked form (`chunk_size` tokens a chunk; fla's kernels use 64). Initialization as Zoology's: the projections
/// N(0, std) (`_init_weights`; `o_proj` keeps std), the convolutions U(±1/√conv_size) without bias,
/// the norm's weight 1, and Mamba-2's for the decay: `A ~ U(0, 16)`, `A_log = ln A`,
/// `dt_bias = softplus⁻¹(dt)` with `dt = exp(U[ln 10⁻³, ln 10⁻¹])` floored at 10⁻⁴. Zoology's layer
/// also holds `D` (ones, one per head), which its forward never reads: it is kept so the parameters
/// are its state_dict, and gets no gradient. Zoology casts q, k, v, β and g to bfloat16 for fla's
/// kernel; Zoo computes in float32 throughout.
public final class GatedDeltaNetMixer: SequenceMixer {
  /// Gated DeltaNet's options (Zoology's `GatedDeltaNet` arguments; defaults as Zoology's `add_gated_delta_net`).
  public struct Config: MixerConfig, Equatable {
    public static let name = "gated_delta_net"
    public static let summary = "Gated DeltaNet: DeltaNet's delta rule with a decay e^g per head and token (Mamba-2's), chunked training form"
    @MixerOption("heads; each has floor(d_model/num_heads) key channels") public var numHeads = 2
    @MixerOption("value channels per key channel (an integer)") public var expandV = 2
    @MixerOption("gate the normed output with SiLU(g_proj(x))") public var useGate = false
    @MixerOption("kernel of the short convolutions on q, k and v") public var convSize = 4
    @MixerOption("tokens per chunk of the chunked training view (speed only)") public var chunkSize = 64

    public static func defaults(layer: Int) -> Config { Config() }
    /// Chunks shorter than the tests' sequences; layer 1 gates its output and has values as wide as its keys.
    public static func tiny(layer: Int) -> Config { layer == 0 ? Config(chunkSize: 4) : Config(expandV: 1, useGate: true, chunkSize: 5) }

    public func validate(dModel: Int) throws {
      if numHeads < 1 || numHeads > dModel { throw ModelError.invalidConfig("num_heads must be between 1 and d_model (\(dModel)), got \(numHeads)") }
      try validatePositive(["expand_v": expandV, "conv_size": convSize, "chunk_size": chunkSize])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { GatedDeltaNetMixer(context: context, config: self) }
  }

  let q, k, v: ShortConvolvedProjection
  let bProj, aProj, aLog, skip, dtBias: NamedParameter
  let output: NormedGatedOutput
  let heads, keyDim, valueDim, chunkSize: Int

  public init(context: MixerContext, config: Config) {
    let d = context.dModel
    let heads = config.numHeads
    (self.heads, keyDim, valueDim, chunkSize) = (heads, d / heads, d / heads * config.expandV, config.chunkSize)
    let (key, value) = (heads * keyDim, heads * valueDim)
    q = ShortConvolvedProjection("q", width: key, context: context, convSize: config.convSize)
    k = ShortConvolvedProjection("k", width: key, context: context, convSize: config.convSize)
    v = ShortConvolvedProjection("v", width: value, context: context, convSize: config.convSize)
    bProj = NamedParameter("b_proj.weight", [heads, d], std: context.std)
    aProj = NamedParameter("a_proj.weight", [heads, d], std: context.std)
    aLog = NamedParameter(
      "A_log", [heads], initializer: .custom { rng in (0..<heads).map { _ in Float(Foundation.log(16 * rng.nextDouble())) } })
    skip = NamedParameter("D", [heads], initializer: .constant(1))
    dtBias = NamedParameter("dt_bias", [heads], initializer: .timeStepBias(count: heads))
    output = NormedGatedOutput(normName: "o_norm.weight", width: value, headWidth: valueDim, gated: config.useGate, context: context)
  }

  public var parameters: [NamedParameter] {
    [q, k, v].map(\.projection) + [bProj, aProj, aLog, skip, dtBias] + [q, k, v].compactMap(\.convolution)
      + [output.gate].compactMap { $0 } + [output.norm, output.output]
  }

  /// The delta rule's state `H·K·V` (Zoology's `state_size`; like Zoology it leaves out the short
  /// convolutions' windows).
  public func stateSize(length: Int) -> Int { heads * keyDim * valueDim }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let q = tape.l2NormalizeHeads(self.q(x, tape: tape), heads: heads)
    let k = tape.l2NormalizeHeads(self.k(x, tape: tape), heads: heads)
    let v = self.v(x, tape: tape)
    let beta = tape.sigmoid(tape.linear(x, weight: bProj.tensor, bias: nil))
    let steps = tape.softplus(tape.linear(x, weight: aProj.tensor, bias: dtBias.tensor))
    let logDecay = tape.scaleColumns(steps, by: tape.exponential(aLog.tensor, scale: -1))
    let o = tape.deltaRule(q: q, k: k, v: v, beta: beta, logDecay: logDecay, heads: heads, form: .chunked(size: chunkSize))
    return output(o, input: x, tape: tape)
  }
}
