import ZooTensor

/// flash-linear-attention's output path (GLA, DeltaNet, Gated DeltaNet): the attention output's
/// RMS norm per head, one weight of the head's width shared by the heads (initialized to 1), then,
/// where the layer gates, `⊙ SiLU(g_proj(x))`, then `o_proj`; projections without bias, N(0, std)
/// (`o_proj` is not an `out_proj`, so Zoology does not rescale it).
struct NormedGatedOutput {
  /// `g_proj`, nil in layers without the output gate.
  let gate: NamedParameter?
  let norm: NamedParameter
  let output: NamedParameter

  /// The norm's weight is named `normName` (fla's layers differ); `width` is all heads' values.
  init(normName: String, width: Int, headWidth: Int, gated: Bool, context: MixerContext) {
    gate = gated ? NamedParameter("g_proj.weight", [width, context.dModel], std: context.std) : nil
    norm = NamedParameter(normName, [headWidth], initializer: .constant(1))
    output = NamedParameter("o_proj.weight", [context.dModel, width], std: context.std)
  }

  /// `o` the heads' outputs `[…, width]`, `x` the layer's input.
  func callAsFunction(_ o: Tensor, input x: Tensor, tape: Tape) -> Tensor {
    var y = tape.rmsNorm(o, weight: norm.tensor)
    if let gate { y = tape.multiply(y, tape.silu(tape.linear(x, weight: gate.tensor, bias: nil))) }
    return tape.linear(y, weight: output.tensor, bias: nil)
  }
}
