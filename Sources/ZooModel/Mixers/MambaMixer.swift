import Foundation
import ZooSupport
import ZooTensor

/// Mamba's simple block (`mamba_simple.py`, its reference path) as the sequence mixer of our
/// standard pre-norm block, with `d_inner = 2·d`, `dt_rank = ⌈d/16⌉`, `N = d_state`, kernel 4:
///
///     x, z = split(in_proj(u))                          d → 2·d_inner, no bias
///     x    = SiLU(causal depthwise conv(x))             kernel 4, with bias
///     dt, B, C = split(x_proj(x))                       d_inner → dt_rank + 2N, no bias
///     Δ    = softplus(dt_proj(dt))                      dt_rank → d_inner, with bias
///     y    = selectiveScan(x, Δ, A = −exp(A_log), B, C, D) ⊙ SiLU(z)
///     out  = out_proj(y)                                d_inner → d, no bias
///
/// Initialization: the projections N(0, std) as Zoology's `_init_weights` (`out_proj` with the
/// output std), the convolution as PyTorch's default U(±1/√4), and Mamba's own inits for the rest:
/// `dt_proj.bias = softplus⁻¹(dt)` with `dt = exp(U[ln 10⁻³, ln 10⁻¹])` (floored at 10⁻⁴),
/// `A_log[c, n] = ln(n + 1)` (S4D-real), `D = 1`.
public final class MambaMixer: SequenceMixer {
  /// Mamba's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "mamba"
    public static let summary = "Mamba's selective SSM block (d_inner = 2·d, kernel 4)"
    @MixerOption("SSM state size N per channel") public var dState = 16

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(dState: 16) }

    public func validate(dModel: Int) throws {
      try validatePositive(["d_state": dState])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { MambaMixer(context: context, states: dState) }
  }

  static let expand = 2
  static let convolutionKernel = 4
  let inProj, convWeight, convBias, xProj, dtWeight, dtBias, aLog, skip, outProj: NamedParameter
  let d, inner, dtRank, states: Int

  public init(context: MixerContext, states: Int) {
    let d = context.dModel
    let inner = Self.expand * d
    let dtRank = (d + 15) / 16
    (self.d, self.inner, self.dtRank, self.states) = (d, inner, dtRank, states)
    inProj = NamedParameter("in_proj.weight", [2 * inner, d], std: context.std)
    let bound = 1 / Float(Self.convolutionKernel).squareRoot()
    convWeight = NamedParameter("conv1d.weight", [inner, 1, Self.convolutionKernel], initializer: .uniform(bound: bound))
    convBias = NamedParameter("conv1d.bias", [inner], initializer: .uniform(bound: bound))
    xProj = NamedParameter("x_proj.weight", [dtRank + 2 * states, inner], std: context.std)
    dtWeight = NamedParameter("dt_proj.weight", [inner, dtRank], std: context.std)
    dtBias = NamedParameter("dt_proj.bias", [inner], initializer: .timeStepBias(count: inner))
    aLog = NamedParameter(
      "A_log", [inner, states],
      initializer: .custom { _ in (0..<(inner * states)).map { Float(Foundation.log(Double($0 % states + 1))) } })
    skip = NamedParameter("D", [inner], initializer: .constant(1))
    outProj = NamedParameter("out_proj.weight", [d, inner], std: context.outputStd)
  }

  public var parameters: [NamedParameter] { [inProj, convWeight, convBias, xProj, dtWeight, dtBias, aLog, skip, outProj] }

  /// The selective scan's state `d_inner·N = 2·d·d_state`, as Zoology's `state_size`; like Zoology
  /// it leaves out the convolution's window (`d_inner·3` more values in a recurrent implementation).
  public func stateSize(length: Int) -> Int { inner * states }

  public func forward(_ u: Tensor, tape: Tape) -> Tensor {
    let xz = tape.linear(u, weight: inProj.tensor, bias: nil)
    let z = tape.columns(xz, inner..<(2 * inner))
    let x = tape.silu(tape.shortConvolution(tape.columns(xz, 0..<inner), weight: convWeight.tensor, bias: convBias.tensor))
    let projected = tape.linear(x, weight: xProj.tensor, bias: nil)
    let dt = tape.columns(projected, 0..<dtRank)
    let b = tape.columns(projected, dtRank..<(dtRank + states))
    let c = tape.columns(projected, (dtRank + states)..<(dtRank + 2 * states))
    let delta = tape.softplus(tape.linear(dt, weight: dtWeight.tensor, bias: dtBias.tensor))
    let a = tape.exponential(aLog.tensor, scale: -1)
    let y = tape.selectiveScan(x: x, delta: delta, a: a, b: b, c: c, d: skip.tensor)
    return tape.linear(tape.multiply(y, tape.silu(z)), weight: outProj.tensor, bias: nil)
  }
}
