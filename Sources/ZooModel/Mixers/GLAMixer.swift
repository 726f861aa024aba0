import Foundation
import ZooTensor

/// Gated linear attention (Yang et al., "Gated Linear Attention Transformers with Hardware-Efficient
/// Training"; Zoology's `mixers/gla.py`, a copy of flash-linear-attention's `GatedLinearAttention`),
/// with `K = d·expand_k/H` key and `V = d·expand_v/H` value channels per head:
///
///     q, k = q_proj(u), k_proj(u)                     d → d·expand_k, no bias
///     v, g = v_proj(u), g_proj(u)                     d → d·expand_v, no bias
///     (q, k, v = SiLU(short conv(·)) each, with use_short_conv; kernel conv_size, no bias)
///     α    = logsigmoid(gk_proj(u)) / gate_logit_normalizer    gk_proj = Linear(d, r, no bias) → Linear(r, d·expand_k)
///     o    = gatedLinearAttention(q/√K, k, v, α)     S_t = diag(e^{α_t}) S_{t−1} + k_t v_tᵀ, o_t = S_tᵀ q_t
///     out  = o_proj(RMSNorm_head(o) ⊙ swish(g))       the norm per head, one weight of V for all heads
///
/// Options are fla's names and Zoology's defaults (`expand_k` 0.5, `expand_v` 1, 4 heads, gate rank
/// 16, normalizer 16, no short convolution, kernel 4); Zoology's MQAR configs use 2 heads.
/// Initialization as Zoology's `_init_weights` in its transformer block: every linear weight
/// N(0, 0.02) (`o_proj` is not an `out_proj`, so it is not rescaled), the gate bias 0, the norm
/// weight 1, the convolutions PyTorch's default U(±1/√conv_size).
///
/// State: `K·V` per head, `d·expand_k · V` in all (Zoology's `state_size`), plus each short
/// convolution's window, `(2·d·expand_k + d·expand_v)·conv_size`, when they are used.
public final class GLAMixer: SequenceMixer {
  /// GLA's options (fla's `GatedLinearAttention` arguments).
  public struct Config: MixerConfig, Equatable {
    public static let name = "gla"
    public static let summary = "gated linear attention: a data-dependent decay per key (low-rank, log-sigmoid), RMS norm and swish gate"
    @MixerOption("heads (must divide d_model·expand_k and d_model·expand_v)") public var numHeads = 4
    @MixerOption("key width as a multiple of d_model") public var expandK: Float = 0.5
    @MixerOption("value width as a multiple of d_model") public var expandV: Float = 1
    @MixerOption("rank of the gate projection") public var gateLowRankDim = 16
    @MixerOption("divides the log-sigmoid gates (larger: slower decay)") public var gateLogitNormalizer: Float = 16
    @MixerOption("a short causal convolution (with SiLU) on q, k and v") public var useShortConv = false
    @MixerOption("kernel of the short convolutions") public var convSize = 4
    @MixerOption("tokens per chunk of the chunked training view (speed only)") public var chunkSize = 16

    public static func defaults(layer: Int) -> Config { Config() }
    /// Two heads, a narrow gate and chunks that do not divide the tests' lengths; short
    /// convolutions on odd layers.
    public static func tiny(layer: Int) -> Config {
      Config(numHeads: 2, gateLowRankDim: 3, gateLogitNormalizer: 2, useShortConv: layer % 2 == 1, convSize: 3, chunkSize: 5)
    }

    /// `d_model · expand`, when it is a whole number.
    static func width(_ dModel: Int, _ expand: Float) -> Int? {
      let width = Double(dModel) * Double(expand)
      return width == width.rounded() && width >= 1 ? Int(width) : nil
    }

    public func validate(dModel: Int) throws {
      for (option, expand) in [("expand_k", expandK), ("expand_v", expandV)] {
        guard let width = Self.width(dModel, expand) else {
          throw ModelError.invalidConfig("d_model·\(option) (\(dModel)·\(expand)) must be a positive whole number")
        }
        if numHeads < 1 || width % numHeads != 0 {
          throw ModelError.invalidConfig("num_heads (\(numHeads)) must divide d_model·\(option) (\(width))")
        }
      }
      try validatePositive(["gate_low_rank_dim": gateLowRankDim, "conv_size": convSize, "chunk_size": chunkSize])
      if !(gateLogitNormalizer > 0) { throw ModelError.invalidConfig("gate_logit_normalizer must be positive") }
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { GLAMixer(context: context, config: self) }
  }

  let config: Config
  let keyDim, valueDim, headV: Int
  let q, k, v: ShortConvolvedProjection
  let gateDown, gateUp, gateBias: NamedParameter
  let output: NormedGatedOutput

  public init(context: MixerContext, config: Config) {
    let d = context.dModel
    self.config = config
    keyDim = Config.width(d, config.expandK)!
    valueDim = Config.width(d, config.expandV)!
    headV = valueDim / config.numHeads
    let convSize = config.useShortConv ? config.convSize : nil
    q = ShortConvolvedProjection("q", width: keyDim, context: context, convSize: convSize)
    k = ShortConvolvedProjection("k", width: keyDim, context: context, convSize: convSize)
    v = ShortConvolvedProjection("v", width: valueDim, context: context, convSize: convSize)
    gateDown = NamedParameter("gk_proj.0.weight", [config.gateLowRankDim, d], std: context.std)
    gateUp = NamedParameter("gk_proj.1.weight", [keyDim, config.gateLowRankDim], std: context.std)
    gateBias = NamedParameter("gk_proj.1.bias", [keyDim], std: nil)
    output = NormedGatedOutput(normName: "g_norm_swish_gate.weight", width: valueDim, headWidth: headV, gated: true, context: context)
  }

  /// In the order of Zoology's `state_dict`.
  public var parameters: [NamedParameter] {
    [q, k, v].map(\.projection) + [output.gate].compactMap { $0 } + [q, k, v].compactMap(\.convolution)
      + [gateDown, gateUp, gateBias, output.output, output.norm]
  }

  /// `d·expand_k · V` (every head's `K × V` state), plus the short convolutions' windows.
  public func stateSize(length: Int) -> Int {
    keyDim * headV + (config.useShortConv ? (2 * keyDim + valueDim) * config.convSize : 0)
  }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let (q, k, v) = (self.q(x, tape: tape), self.k(x, tape: tape), self.v(x, tape: tape))
    let gate = tape.linear(tape.linear(x, weight: gateDown.tensor, bias: nil), weight: gateUp.tensor, bias: gateBias.tensor)
    let logGate = tape.logSigmoid(gate, scale: 1 / config.gateLogitNormalizer)
    let heads = config.numHeads
    let o = tape.gatedLinearAttention(
      q: q, k: k, v: v, logGate: logGate, heads: heads, scale: 1 / Float(keyDim / heads).squareRoot(),
      form: .chunked(size: config.chunkSize))
    return output(o, input: x, tape: tape)
  }
}
