import Foundation
import ZooSupport
import ZooTensor

/// Mamba-2 (Dao & Gu, "Transformers are SSMs"; Zoology's `mixers/mamba2.py`, mamba_ssm's `Mamba2`
/// simple block, the same layer as flash-linear-attention's `Mamba2`) as the sequence mixer of our
/// standard pre-norm block, with `d_inner = 2·d`, `H = d_inner/P` heads of `P = head_dim`
/// channels, one group of `N = d_state` states, kernel 4:
///
///     z, xBC, dt = split(in_proj(u))                      d → d_inner + (d_inner + 2N) + H, no bias
///     x, B, C    = split(SiLU(causal depthwise conv(xBC)))   kernel 4, with bias
///     Δ          = softplus(dt + dt_bias)                 one step per head
///     h_t        = exp(Δ_t·A_h) h_{t−1} + B_t (Δ_t x_t)ᵀ     A_h = −exp(A_log_h), per head N × P
///     y_t        = h_tᵀ C_t + D_h x_t                      (SSD: gated linear attention with a scalar gate)
///     out        = out_proj(RMSNorm(y ⊙ SiLU(z)))          the norm after the gate, over d_inner
///
/// `B` and `C` are shared by the heads. Initialization: the projections N(0, std) as Zoology's
/// `_init_weights` in the transformer block (`out_proj` with the output std; Zoology's Mamba2Block
/// keeps PyTorch's defaults instead, as Zoo's Mamba follows the transformer block too), the
/// convolution PyTorch's default U(±1/√4), and Mamba-2's own for the rest: `dt_bias = softplus⁻¹(dt)`
/// with `dt = exp(U[ln 10⁻³, ln 10⁻¹])` floored at 10⁻⁴, `A_log = ln U[1, 16]`, `D = 1`, norm weight 1.
///
/// State: `H·P·N = 2·d·N` (Zoology's `state_size`; the convolution's window is not counted).
public final class Mamba2Mixer: SequenceMixer {
  /// Mamba-2's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "mamba2"
    public static let summary = "Mamba-2's SSD block: one scalar decay per head, shared B and C, gated RMS norm (d_inner = 2·d, kernel 4)"
    @MixerOption("SSM state size N per channel") public var dState = 128
    @MixerOption("channels per head P (must divide 2·d_model)") public var headDim = 64
    @MixerOption("tokens per chunk of the chunked training view (speed only)") public var chunkSize = 16

    public static func defaults(layer: Int) -> Config { Config() }
    /// Four heads of 4 channels and chunks that do not divide the tests' lengths.
    public static func tiny(layer: Int) -> Config { Config(dState: 16, headDim: 4, chunkSize: 5) }

    public func validate(dModel: Int) throws {
      try validatePositive(["d_state": dState, "chunk_size": chunkSize])
      if headDim < 1 || (Mamba2Mixer.expand * dModel) % headDim != 0 {
        throw ModelError.invalidConfig("head_dim (\(headDim)) must divide d_inner = 2·d_model (\(Mamba2Mixer.expand * dModel))")
      }
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { Mamba2Mixer(context: context, config: self) }
  }

  static let expand = 2
  static let convolutionKernel = 4
  let config: Config
  let inner, heads, states: Int
  let inProj, convWeight, convBias, dtBias, aLog, skip, norm, outProj: NamedParameter

  public init(context: MixerContext, config: Config) {
    let d = context.dModel
    self.config = config
    inner = Self.expand * d
    heads = inner / config.headDim
    states = config.dState
    let (inner, heads, states) = (inner, heads, states)
    inProj = NamedParameter("in_proj.weight", [2 * inner + 2 * states + heads, d], std: context.std)
    let bound = 1 / Float(Self.convolutionKernel).squareRoot()
    convWeight = NamedParameter("conv1d.weight", [inner + 2 * states, 1, Self.convolutionKernel], initializer: .uniform(bound: bound))
    convBias = NamedParameter("conv1d.bias", [inner + 2 * states], initializer: .uniform(bound: bound))
    dtBias = NamedParameter("dt_bias", [heads], initializer: .timeStepBias(count: heads))
    aLog = NamedParameter("A_log", [heads], initializer: .custom { rng in (0..<heads).map { _ in Float(Foundation.log(1 + 15 * rng.nextDouble())) } })
    skip = NamedParameter("D", [heads], initializer: .constant(1))
    norm = NamedParameter("norm.weight", [inner], std: nil, value: 1)
    outProj = NamedParameter("out_proj.weight", [d, inner], std: context.outputStd)
  }

  /// In the order of Zoology's `state_dict`.
  public var parameters: [NamedParameter] { [dtBias, aLog, skip, inProj, convWeight, convBias, norm, outProj] }

  /// `H·P·N = d_inner·N = 2·d·d_state`, as Zoology's `state_size`.
  public func stateSize(length: Int) -> Int { inner * states }

  public func forward(_ u: Tensor, tape: Tape) -> Tensor {
    let (inner, heads, n, p) = (inner, heads, states, config.headDim)
    let projected = tape.linear(u, weight: inProj.tensor, bias: nil)
    let z = tape.columns(projected, 0..<inner)
    let xBC = tape.silu(
      tape.shortConvolution(tape.columns(projected, inner..<(2 * inner + 2 * n)), weight: convWeight.tensor, bias: convBias.tensor))
    let dt = tape.columns(projected, (2 * inner + 2 * n)..<(2 * inner + 2 * n + heads))
    let x = tape.columns(xBC, 0..<inner)
    let b = tape.repeatColumns(tape.columns(xBC, inner..<(inner + n)), times: heads)
    let c = tape.repeatColumns(tape.columns(xBC, (inner + n)..<(inner + 2 * n)), times: heads)
    let delta = tape.softplus(tape.addColumns(dt, dtBias.tensor))
    let logGate = tape.scaleColumns(delta, by: tape.exponential(aLog.tensor, scale: -1))
    let scanned = tape.gatedLinearAttention(
      q: c, k: b, v: tape.multiply(x, tape.repeatColumns(delta, each: p)), logGate: logGate, heads: heads, scale: 1,
      form: .chunked(size: config.chunkSize))
    let y = tape.add(scanned, tape.scaleColumns(x, by: tape.repeatColumns(skip.tensor, each: p)))
    return tape.linear(tape.rmsNorm(tape.multiply(y, tape.silu(z)), weight: norm.tensor), weight: outProj.tensor, bias: nil)
  }
}
