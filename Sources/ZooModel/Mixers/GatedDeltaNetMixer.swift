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
    public static let optionHelp = [
      "num_heads": "heads; each has floor(d_model/num_heads) key channels",
      "expand_v": "value channels per key channel (an integer)",
      "use_gate": "gate the normed output with SiLU(g_proj(x))",
      "conv_size": "kernel of the short convolutions on q, k and v",
      "chunk_size": "tokens per chunk of the chunked training view (speed only)",
    ]
    public var numHeads: Int
    public var expandV: Int
    public var useGate: Bool
    public var convSize: Int
    public var chunkSize: Int

    enum CodingKeys: String, CodingKey {
      case numHeads = "num_heads"
      case expandV = "expand_v"
      case useGate = "use_gate"
      case convSize = "conv_size"
      case chunkSize = "chunk_size"
    }

    public init(layer: Int) { self.init() }
    public init(numHeads: Int = 2, expandV: Int = 2, useGate: Bool = false, convSize: Int = 4, chunkSize: Int = 64) {
      (self.numHeads, self.expandV, self.useGate, self.convSize, self.chunkSize) = (numHeads, expandV, useGate, convSize, chunkSize)
    }
    /// Chunks shorter than the tests' sequences; layer 1 gates its output and has values as wide as its keys.
    public static func tiny(layer: Int) -> Config { layer == 0 ? Config(chunkSize: 4) : Config(expandV: 1, useGate: true, chunkSize: 5) }

    public func validate(dModel: Int) throws {
      if numHeads < 1 || numHeads > dModel { throw ModelError.invalidConfig("num_heads must be between 1 and d_model (\(dModel)), got \(numHeads)") }
      if expandV < 1 { throw ModelError.invalidConfig("expand_v must be positive, got \(expandV)") }
      if convSize < 1 { throw ModelError.invalidConfig("conv_size must be positive, got \(convSize)") }
      if chunkSize < 1 { throw ModelError.invalidConfig("chunk_size must be positive, got \(chunkSize)") }
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { GatedDeltaNetMixer(context: context, config: self) }
  }

  let qProj, kProj, vProj, bProj, aProj, aLog, skip, dtBias, qConv, kConv, vConv, normWeight, oProj: NamedParameter
  let gProj: NamedParameter?
  let heads, keyDim, valueDim, chunkSize: Int

  public init(context: MixerContext, config: Config) {
    let d = context.dModel
    let heads = config.numHeads
    (self.heads, keyDim, valueDim, chunkSize) = (heads, d / heads, d / heads * config.expandV, config.chunkSize)
    let (key, value) = (heads * keyDim, heads * valueDim)
    let bound = 1 / Float(config.convSize).squareRoot()
    qProj = NamedParameter("q_proj.weight", [key, d], std: context.std)
    kProj = NamedParameter("k_proj.weight", [key, d], std: context.std)
    vProj = NamedParameter("v_proj.weight", [value, d], std: context.std)
    bProj = NamedParameter("b_proj.weight", [heads, d], std: context.std)
    aProj = NamedParameter("a_proj.weight", [heads, d], std: context.std)
    aLog = NamedParameter(
      "A_log", [heads], initializer: .custom { rng in (0..<heads).map { _ in Float(Foundation.log(16 * rng.nextDouble())) } })
    skip = NamedParameter("D", [heads], initializer: .constant(1))
    dtBias = NamedParameter(
      "dt_bias", [heads],
      initializer: .custom { rng in
        (0..<heads).map { _ in
          let (low, high) = (Foundation.log(1e-3), Foundation.log(1e-1))
          let dt = max(Foundation.exp(low + rng.nextDouble() * (high - low)), 1e-4)
          // softplus⁻¹(dt) = dt + ln(1 − e^{−dt})
          return Float(dt + Foundation.log(-Foundation.expm1(-dt)))
        }
      })
    qConv = NamedParameter("q_conv1d.weight", [key, 1, config.convSize], initializer: .uniform(bound: bound))
    kConv = NamedParameter("k_conv1d.weight", [key, 1, config.convSize], initializer: .uniform(bound: bound))
    vConv = NamedParameter("v_conv1d.weight", [value, 1, config.convSize], initializer: .uniform(bound: bound))
    gProj = config.useGate ? NamedParameter("g_proj.weight", [value, d], std: context.std) : nil
    normWeight = NamedParameter("o_norm.weight", [valueDim], initializer: .constant(1))
    oProj = NamedParameter("o_proj.weight", [d, value], std: context.std)
  }

  public var parameters: [NamedParameter] {
    [qProj, kProj, vProj, bProj, aProj, aLog, skip, dtBias, qConv, kConv, vConv] + (gProj.map { [$0] } ?? []) + [normWeight, oProj]
  }

  /// The delta rule's state `H·K·V` (Zoology's `state_size`; like Zoology it leaves out the short
  /// convolutions' windows).
  public func stateSize(length: Int) -> Int { heads * keyDim * valueDim }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    func convolved(_ projection: NamedParameter, _ convolution: NamedParameter) -> Tensor {
      tape.silu(tape.shortConvolution(tape.linear(x, weight: projection.tensor, bias: nil), weight: convolution.tensor, bias: nil))
    }
    let q = tape.l2NormalizeHeads(convolved(qProj, qConv), heads: heads)
    let k = tape.l2NormalizeHeads(convolved(kProj, kConv), heads: heads)
    let v = convolved(vProj, vConv)
    let beta = tape.sigmoid(tape.linear(x, weight: bProj.tensor, bias: nil))
    let steps = tape.softplus(tape.linear(x, weight: aProj.tensor, bias: dtBias.tensor))
    let logDecay = tape.scaleColumns(steps, by: tape.exponential(aLog.tensor, scale: -1))
    let o = tape.deltaRule(q: q, k: k, v: v, beta: beta, logDecay: logDecay, heads: heads, form: .chunked(size: chunkSize))
    var y = tape.rmsNorm(o, weight: normWeight.tensor)
    if let gProj { y = tape.multiply(y, tape.silu(tape.linear(x, weight: gProj.tensor, bias: nil))) }
    return tape.linear(y, weight: oProj.tensor, bias: nil)
  }
}
