import Foundation
import ZooTensor

/// Zoology's BaseConv: `y = conv(u) ⊙ (W·u + b) + u`. The convolution depends on the layer's
/// kernel size: `k > 0` is a causal depthwise convolution with bias; `k = −1` is an implicit
/// long convolution whose filter is an MLP (3 → 16 → d, ReLU) of fixed positional features
/// `z(t) = [t/(l_max−1), cos(10⁻⁴·w), −sin(10⁻⁴·w)]`, `w = 2πt/l_max`, applied by FFT and added
/// to its input (`fft_conv(u, k) = k ∗ u + u`).
public final class BaseConvMixer: SequenceMixer {
  /// BaseConv's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "base_conv"
    public static let summary = "conv(u) ⊙ (W·u + b) + u, a short depthwise or an implicit long (FFT) convolution"
    @MixerOption("convolution width; -1 = the implicit long convolution, as long as the sequence") public var kernelSize = 3

    /// Zoology's Figure 2 alternates `kernel_size = [3, -1]` over the layers.
    public static func defaults(layer: Int) -> Config { Config(kernelSize: layer % 2 == 0 ? 3 : -1) }
    public static func tiny(layer: Int) -> Config { defaults(layer: layer) }

    public func validate(dModel: Int) throws {
      if kernelSize == 0 || kernelSize < -1 {
        throw ModelError.invalidConfig("kernel_size must be positive or -1 (implicit long convolution), got \(kernelSize)")
      }
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { BaseConvMixer(context: context, kernelSize: kernelSize) }
  }

  let projectionWeight: NamedParameter
  let projectionBias: NamedParameter
  let convolution: Convolution
  let d: Int
  let kernelSize: Int

  enum Convolution {
    case short(weight: NamedParameter, bias: NamedParameter)
    case implicit(features: Tensor, hiddenWeight: NamedParameter, hiddenBias: NamedParameter, outWeight: NamedParameter, outBias: NamedParameter)
  }

  /// BaseConv with a short kernel of `kernelSize` taps, or the implicit long convolution for -1.
  public init(context: MixerContext, kernelSize k: Int) {
    let d = context.dModel
    self.d = d
    kernelSize = k
    projectionWeight = NamedParameter("projection.weight", [d, d], std: context.std)
    projectionBias = NamedParameter("projection.bias", [d], std: nil)
    if k > 0 {
      // PyTorch's Conv1d default: U(±1/√fan_in), fan_in = k for a depthwise kernel.
      let bound = 1 / Float(k).squareRoot()
      convolution = .short(
        weight: NamedParameter("conv.conv.weight", [d, 1, k], initializer: .uniform(bound: bound)),
        bias: NamedParameter("conv.conv.bias", [d], initializer: .uniform(bound: bound)))
    } else {
      let lMax = context.lMax
      let features = Tensor(implicitFilterPositions(lMax: lMax), shape: [lMax, 3])
      convolution = .implicit(
        features: features,
        hiddenWeight: NamedParameter("conv.mlp.0.weight", [16, 3], std: context.std),
        hiddenBias: NamedParameter("conv.mlp.0.bias", [16], std: nil),
        outWeight: NamedParameter("conv.mlp.2.weight", [d, 16], std: context.std),
        outBias: NamedParameter("conv.mlp.2.bias", [d], std: nil))
    }
  }

  public var parameters: [NamedParameter] {
    switch convolution {
    case .short(let w, let b): [projectionWeight, projectionBias, w, b]
    case .implicit(_, let w1, let b1, let w2, let b2): [projectionWeight, projectionBias, w1, b1, w2, b2]
    }
  }

  /// The convolution's input window: `d·k` for a short kernel, `d·L` for the long one.
  public func stateSize(length: Int) -> Int { d * (kernelSize > 0 ? min(kernelSize, length) : length) }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let length = x.shape[1]
    let convolved: Tensor
    switch convolution {
    case .short(let w, let b):
      convolved = tape.shortConvolution(x, weight: w.tensor, bias: b.tensor)
    case .implicit(let features, let w1, let b1, let w2, let b2):
      precondition(length <= features.shape[0], "sequence length \(length) exceeds l_max \(features.shape[0])")
      let z = Tensor(Array(features.value[0..<(length * 3)]), shape: [length, 3])
      let hidden = tape.relu(tape.linear(z, weight: w1.tensor, bias: b1.tensor))
      let filter = tape.transpose(tape.linear(hidden, weight: w2.tensor, bias: b2.tensor))  // [d, length]
      convolved = tape.add(tape.longConvolution(x, filter: filter), x)
    }
    let projected = tape.linear(x, weight: projectionWeight.tensor, bias: projectionBias.tensor)
    return tape.add(tape.multiply(convolved, projected), x)
  }
}
