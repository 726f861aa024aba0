import Foundation
import ZooTensor

/// Zoology's pure long convolution (`mixers/convolution.py`, `ImplicitLongConvolution`; the "Long
/// Conv" row of the Zoology paper's Table 1): one implicit filter per channel, no gating, no
/// projections,
///
///     y = h ∗ u + u,    y_t = u_t + Σ_{s≤t} h_s ⊙ u_{t−s}    (by FFT, Zoology's `fft_conv`)
///
/// with the filter `h = MLP(z)ᵀ ∈ R^{d×L}`, `MLP = Linear(d_emb, d_hidden) → ReLU → Linear(d_hidden, d)`
/// of the fixed positional features `z_t = [t/(l_max−1), cos(f_j·w_t)…, −sin(f_j·w_t)…]`,
/// `w_t = 2πt/l_max`, `f = linspace(10⁻⁴, b−1, b)` for `b = (d_emb−1)/2` bands (Zoology's
/// `PositionalEmbedding`, not trained). Zoology's defaults: `d_emb = 3`, `d_hidden = 16`; the
/// filter length `l_max` is the model's. Weights N(0, 0.02), biases 0 (`_init_weights`).
///
/// State: the convolution's input window, `d·L` elements after `L` tokens (Zoology's `state_size`).
public final class LongConvMixer: SequenceMixer {
  /// The filter MLP's options (Zoology's `ImplicitLongConvolution` arguments).
  public struct Config: MixerConfig, Equatable {
    public static let name = "long_conv"
    public static let summary = "y = h ∗ u + u, an implicit long convolution by FFT (MLP filter of positional features), no gating"
    @MixerOption("positional features fed to the filter MLP: time plus (d_emb-1)/2 cosine/sine bands (odd, >= 3)") public var dEmb = 3
    @MixerOption("hidden width of the filter MLP") public var dHidden = 16

    public static func defaults(layer: Int) -> Config { Config() }
    /// Two bands and a narrow MLP, so the tests see more than Zoology's single band.
    public static func tiny(layer: Int) -> Config { Config(dEmb: 5, dHidden: 6) }

    public func validate(dModel: Int) throws {
      if dEmb < 3 || dEmb % 2 == 0 { throw ModelError.invalidConfig("d_emb must be odd and at least 3 (time, cosine, sine), got \(dEmb)") }
      try validatePositive(["d_hidden": dHidden])
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { LongConvMixer(context: context, config: self) }
  }

  /// `z` as `[l_max, d_emb]`.
  let features: Tensor
  let hiddenWeight, hiddenBias, outWeight, outBias: NamedParameter
  let d: Int

  public init(context: MixerContext, config: Config) {
    d = context.dModel
    let lMax = context.lMax
    features = Tensor(implicitFilterPositions(lMax: lMax, bands: (config.dEmb - 1) / 2), shape: [lMax, config.dEmb])
    hiddenWeight = NamedParameter("mlp.0.weight", [config.dHidden, config.dEmb], std: context.std)
    hiddenBias = NamedParameter("mlp.0.bias", [config.dHidden], std: nil)
    outWeight = NamedParameter("mlp.2.weight", [d, config.dHidden], std: context.std)
    outBias = NamedParameter("mlp.2.bias", [d], std: nil)
  }

  public var parameters: [NamedParameter] { [hiddenWeight, hiddenBias, outWeight, outBias] }

  /// The convolution's input window, `d·L`.
  public func stateSize(length: Int) -> Int { d * length }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let length = x.shape[1]
    let (lMax, width) = (features.shape[0], features.shape[1])
    precondition(length <= lMax, "sequence length \(length) exceeds l_max \(lMax)")
    let z = Tensor(Array(features.value[0..<(length * width)]), shape: [length, width])
    let hidden = tape.relu(tape.linear(z, weight: hiddenWeight.tensor, bias: hiddenBias.tensor))
    let filter = tape.transpose(tape.linear(hidden, weight: outWeight.tensor, bias: outBias.tensor))  // [d, length]
    return tape.add(tape.longConvolution(x, filter: filter), x)
  }
}
