import ZooTensor

/// flash-linear-attention's input path for a layer's q, k or v (GLA, DeltaNet, Gated DeltaNet):
/// `<name>_proj`, a linear map without bias, N(0, std); then, in layers with short convolutions,
/// `<name>_conv1d`, a causal depthwise convolution of `convSize` taps without bias (PyTorch's
/// default U(±1/√convSize)), and SiLU.
struct ShortConvolvedProjection {
  let projection: NamedParameter
  /// Nil in layers without short convolutions.
  let convolution: NamedParameter?

  /// Maps `context.dModel` to `width`; `convSize` nil for no convolution.
  init(_ name: String, width: Int, context: MixerContext, convSize: Int?) {
    projection = NamedParameter("\(name)_proj.weight", [width, context.dModel], std: context.std)
    convolution = convSize.map { size in
      NamedParameter("\(name)_conv1d.weight", [width, 1, size], initializer: .uniform(bound: 1 / Float(size).squareRoot()))
    }
  }

  func callAsFunction(_ x: Tensor, tape: Tape) -> Tensor {
    let projected = tape.linear(x, weight: projection.tensor, bias: nil)
    guard let convolution else { return projected }
    return tape.silu(tape.shortConvolution(projected, weight: convolution.tensor, bias: nil))
  }
}
