import ArgumentParser
import ZooModel

/// The sequence mixer and its settings, shared by `zoo-train lm` and `zoo-train mqar`.
struct MixerOptions: ParsableArguments {
  @Option(
    help: """
      Sequence mixer: \(MixerRegistry.names.joined(separator: ", ")); or one per layer, comma-separated, \
      cycling (Zoology's Hybrid, e.g. base_conv,based).
      """)
  var mixer = "attention"
  @Option(help: "Heads (attention, sliding_window_attention, based, retnet: one decay rate per head).") var heads = 1
  @Option(
    name: .customLong("kernel-size"),
    help: "Convolution kernel size per layer, comma-separated, cycling; -1 = implicit long convolution (base_conv).")
  var kernelSize = "3,-1"
  @Option(help: "sliding_window_attention: positions each token sees, itself included.") var window = 64
  @Option(name: .customLong("feature-dim"), help: "based: query/key dimension fed to the Taylor feature map.")
  var featureDim = 16
  @Option(name: .customLong("d-state"), help: "h3 and mamba: SSM state size N (h3: shift taps and N/2 complex modes).")
  var dState = 16
  @Option(name: .customLong("head-dim"), help: "h3: channels per head of the key-value outer product.")
  var headDim = 1

  func validate() throws {
    if kernelSizes == nil { throw ValidationError("--kernel-size wants integers like 3,-1, got '\(kernelSize)'") }
  }

  /// The parsed kernel sizes, nil if malformed.
  var kernelSizes: [Int]? {
    let parts = kernelSize.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    return parts.isEmpty || parts.contains(nil) ? nil : parts.compactMap { $0 }
  }

  /// A model configuration with these mixer settings.
  func modelConfig(
    dModel: Int, layers: Int, vocabSize: Int, maxPositions: Int, hiddenMult: Int, lMax: Int, embedDropout: Float,
    attnDropout: Float
  ) -> ModelConfig {
    ModelConfig(
      mixer: mixer, dModel: dModel, layers: layers, vocabSize: vocabSize, maxPositions: maxPositions, heads: heads,
      hiddenMult: hiddenMult, kernelSizes: kernelSizes ?? [3, -1], lMax: lMax, windowSize: window, featureDim: featureDim,
      embedDropout: embedDropout, attnDropout: attnDropout, dState: dState, headDim: headDim)
  }
}
