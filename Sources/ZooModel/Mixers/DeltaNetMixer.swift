import Foundation
import ZooTensor

/// Zoology's DeltaNet (`zoology/mixers/delta_net.py`, flash-linear-attention's `DeltaNet` layer with
/// the options Zoology runs: β from a sigmoid, SiLU short convolutions, L2-normalized queries and
/// keys; Yang et al. 2024), with `key = ⌊d·expand_k⌋`, `value = ⌊d·expand_v⌋`, `H` heads of
/// `K = key/H`, `V = value/H`:
///
///     q, k = l2norm(SiLU(conv(q_proj(x)))), l2norm(SiLU(conv(k_proj(x))))   per head, no biases
///     v    = SiLU(conv(v_proj(x)))                                         depthwise, kernel conv_size
///     β    = σ(b_proj(x))                                                  one per head
///     o    = deltaRule(q, k, v, β)                 S_t = (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ, o_t = S_tᵀ q_t/√K
///     y    = o_proj(RMSNorm(o) [⊙ SiLU(g_proj(x))])                        RMSNorm per head, weight shared
///
/// trained in the chunked (WY) form (`chunk_size` tokens a chunk; fla's kernels use 64). Initialization as Zoology's: the
/// projections N(0, std) (`_init_weights`; `o_proj` is not an `out_proj`, so it keeps std), the
/// convolutions PyTorch's default U(±1/√conv_size) without bias, the norm's weight 1. Zoology casts
/// q, k, v to bfloat16 for fla's kernel (float32 inside); Zoo computes in float32 throughout.
public final class DeltaNetMixer: SequenceMixer {
  /// DeltaNet's options (Zoology's `DeltaNet` arguments; defaults as Zoology's `add_delta_net`).
  public struct Config: MixerConfig, Equatable {
    public static let name = "delta_net"
    public static let summary = "DeltaNet: the delta rule over L2-normalized q, k with β = σ(b_proj(x)), short convolutions, chunked (WY) training form"
    @MixerOption("heads (must divide the key and value widths)") public var numHeads = 2
    @MixerOption("key width / d_model (key width = floor(d_model·expand_k))") public var expandK: Double = 1
    @MixerOption("value width / d_model") public var expandV: Double = 1
    @MixerOption("gate the normed output with SiLU(g_proj(x))") public var useGate = false
    @MixerOption("kernel of the short convolutions on q, k and v") public var convSize = 4
    @MixerOption("tokens per chunk of the chunked training view (speed only)") public var chunkSize = 64

    public static func defaults(layer: Int) -> Config { Config() }
    /// Chunks shorter than the tests' sequences; layer 1 gates its output and has values twice as wide as its keys.
    public static func tiny(layer: Int) -> Config { layer == 0 ? Config(chunkSize: 4) : Config(expandV: 2, useGate: true, chunkSize: 5) }

    /// `(key, value)` widths for width `dModel`.
    func widths(dModel: Int) -> (key: Int, value: Int) { (Int(Double(dModel) * expandK), Int(Double(dModel) * expandV)) }

    public func validate(dModel: Int) throws {
      let (key, value) = widths(dModel: dModel)
      if numHeads < 1 || key < numHeads || value < numHeads || key % numHeads != 0 || value % numHeads != 0 {
        throw ModelError.invalidConfig("num_heads (\(numHeads)) must divide the key width \(key) (expand_k) and the value width \(value) (expand_v)")
      }
      try validatePositive(["conv_size": convSize, "chunk_size": chunkSize])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { DeltaNetMixer(context: context, config: self) }
  }

  let q, k, v: ShortConvolvedProjection
  let bProj: NamedParameter
  let output: NormedGatedOutput
  let heads, keyDim, valueDim, chunkSize: Int

  public init(context: MixerContext, config: Config) {
    let (key, value) = config.widths(dModel: context.dModel)
    (heads, keyDim, valueDim, chunkSize) = (config.numHeads, key / config.numHeads, value / config.numHeads, config.chunkSize)
    q = ShortConvolvedProjection("q", width: key, context: context, convSize: config.convSize)
    k = ShortConvolvedProjection("k", width: key, context: context, convSize: config.convSize)
    v = ShortConvolvedProjection("v", width: value, context: context, convSize: config.convSize)
    bProj = NamedParameter("b_proj.weight", [heads, context.dModel], std: context.std)
    output = NormedGatedOutput(normName: "o_norm.weight", width: value, headWidth: valueDim, gated: config.useGate, context: context)
  }

  public var parameters: [NamedParameter] {
    [q, k, v].map(\.projection) + [bProj] + [q, k, v].compactMap(\.convolution) + [output.gate].compactMap { $0 }
      + [output.norm, output.output]
  }

  /// The delta rule's state `H·K·V` (Zoology's `state_size`; like Zoology it leaves out the short
  /// convolutions' windows).
  public func stateSize(length: Int) -> Int { heads * keyDim * valueDim }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let q = tape.l2NormalizeHeads(self.q(x, tape: tape), heads: heads)
    let k = tape.l2NormalizeHeads(self.k(x, tape: tape), heads: heads)
    let v = self.v(x, tape: tape)
    let beta = tape.sigmoid(tape.linear(x, weight: bProj.tensor, bias: nil))
    let o = tape.deltaRule(q: q, k: k, v: v, beta: beta, logDecay: nil, heads: heads, form: .chunked(size: chunkSize))
    return output(o, input: x, tape: tape)
  }
}
