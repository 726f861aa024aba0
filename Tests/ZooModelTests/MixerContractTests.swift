import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

/// A mixer of `name` at a small size (its config's `tiny`; width 8, for length 12 unless given), with
/// its parameters randomized (not the zero biases of initialization, so every path carries gradient).
func smallMixer(_ name: String, layer: Int = 1, width: Int = 8, length: Int = 12) -> any SequenceMixer {
  let config = try! MixerCatalogue.config(named: name).tiny(layer: layer)
  let mixer = config.makeMixer(context: MixerContext(dModel: width, lMax: length, layer: layer, layers: 2))
  var rng = SplitMix64(seed: UInt64(layer * 31 + name.count))
  for p in mixer.parameters { for i in 0..<p.tensor.count { p.tensor.value[i] = Float(rng.nextGaussian()) * 0.3 } }
  return mixer
}

func randomInput(batch: Int, length: Int, width: Int = 8, seed: UInt64) -> Tensor {
  var rng = SplitMix64(seed: seed)
  let x = Tensor(zeros: [batch, length, width], requiresGrad: true)
  for i in 0..<x.count { x.value[i] = Float(rng.nextGaussian()) }
  return x
}

/// Every mixer in the catalogue under one contract, at layer 0 and also at layer 1 where its
/// small config differs there (BaseConv's long convolution).
let contractCases: [(String, Int)] = MixerCatalogue.configs.flatMap { type in
  [(type.name, 0)] + (type.tiny(layer: 1).options == type.tiny(layer: 0).options ? [] : [(type.name, 1)])
}

@Suite struct MixerContractTests {
  @Test(arguments: contractCases)
  func shapeCausalityAndBatchIndependence(name: String, layer: Int) {
    let mixer = smallMixer(name, layer: layer)
    let x = randomInput(batch: 2, length: 12, seed: 1)
    let y = mixer.forward(x, tape: Tape(recording: false))
    #expect(y.shape == [2, 12, 8])
    #expect(y.array.allSatisfy { $0.isFinite })
    // Changing token t changes no output before t (up to FFT rounding for the long convolution).
    for t in [3, 7, 11] {
      let changed = Tensor(x.array, shape: x.shape, requiresGrad: true)
      for c in 0..<8 { changed.value[(0 * 12 + t) * 8 + c] += 1.5 }
      let y2 = mixer.forward(changed, tape: Tape(recording: false))
      var leak: Float = 0
      for s in 0..<t { for c in 0..<8 { leak = max(leak, abs(y2.value[s * 8 + c] - y.value[s * 8 + c])) } }
      #expect(leak < 1e-5, "\(name): position \(t) changed earlier outputs by \(leak)")
      var moved: Float = 0
      for c in 0..<8 { moved = max(moved, abs(y2.value[t * 8 + c] - y.value[t * 8 + c])) }
      #expect(moved > 1e-4, "\(name): position \(t) does not depend on its own input")
      // Batch element 1 is untouched.
      #expect(Array(y2.value[(12 * 8)...]) == Array(y.value[(12 * 8)...]))
    }
  }

  @Test(arguments: contractCases)
  func gradientsMatchFiniteDifferences(name: String, layer: Int) {
    let mixer = smallMixer(name, layer: layer)
    let x = randomInput(batch: 2, length: 6, seed: 2)
    let inputs = [x] + mixer.parameters.map(\.tensor)
    var rng = SplitMix64(seed: 3)
    let r = (0..<(2 * 6 * 8)).map { _ in rng.nextGaussian() }
    func loss() -> Double {
      let y = mixer.forward(x, tape: Tape(recording: false))
      return (0..<y.count).reduce(0.0) { $0 + Double(y.value[$1]) * r[$1] }
    }
    // A small step: the implicit filter's ReLU has kinks a large step could straddle.
    let mismatches = GradientCheck.check(inputs: inputs, step: 1e-3, absolute: 3e-3, relative: 2e-2, maxPerTensor: 24, loss: loss) {
      for t in inputs { t.zeroGrad() }
      let tape = Tape()
      let y = mixer.forward(x, tape: tape)
      for i in 0..<y.count { y.grad[i] = Float(r[i]) }
      tape.backward()
      return inputs.map(\.gradArray)
    }
    #expect(mismatches.isEmpty, "\(name): \(mismatches.prefix(5))")
  }

  /// At width 16 and length 64 every mixer splits its work on 2 threads (checked), with the same bits.
  @Test(arguments: contractCases)
  func sameOutputAndGradientsWithOneAndTwoThreads(name: String, layer: Int) {
    let mixer = smallMixer(name, layer: layer, width: 16, length: 64)
    let x = randomInput(batch: 4, length: 64, width: 16, seed: 4)
    var results: [([Float], [[Float]])] = []
    for threads in [1, 2] {
      x.zeroGrad()
      for p in mixer.parameters { p.tensor.zeroGrad() }
      let (y, splits) = ParallelSplits.counting {
        let tape = Tape(threads: threads)
        let y = mixer.forward(x, tape: tape)
        for i in 0..<y.count { y.grad[i] = Float(i % 7) - 3 }
        tape.backward()
        return y
      }
      #expect((splits > 0) == (threads > 1), "\(name)/\(layer) on \(threads) threads: \(splits) split calls")
      results.append((y.array, [x.gradArray] + mixer.parameters.map(\.tensor.gradArray)))
    }
    #expect(results[0].0 == results[1].0)
    #expect(results[0].1 == results[1].1)
  }

  /// The state sizes (docs/MODELS.md, "State sizes") of the mixers' tiny configs (d 8, 2 heads, window 4,
  /// feature_dim 4, kernels [3, −1], d_state 16, H3 head_dim 2, Long Conv d_emb 5; GLA K = V = 4 per head, short
  /// convolutions of kernel 3 on layer 1; Mamba-2 d_inner 16; RWKV-7 head_dim 4; DeltaNet and Gated DeltaNet
  /// K = 4 per head, V = 4 or 8) at length 12. A mixer missing here fails.
  static let expectedStateSizes: [String: Int] = [
    "attention/0": 2 * 8 * 12, "sliding_window_attention/0": 2 * 8 * 4, "base_conv/0": 8 * 3, "base_conv/1": 8 * 12,
    "based/0": 2 * 4 * 15 + 2 * 15, "h3/0": 8 * 16, "hyena/0": 8 * 12, "long_conv/0": 8 * 12,
    "retnet/0": 2 * 4 * 4, "rwkv/0": 3 * 8, "rwkv7/0": 2 * 4 * 4, "mamba/0": 2 * 8 * 16,
    "gla/0": 4 * 4, "gla/1": 4 * 4 + (4 + 4 + 8) * 3, "mamba2/0": 2 * 8 * 16,
    "delta_net/0": 2 * 4 * 4, "delta_net/1": 2 * 4 * 8, "gated_delta_net/0": 2 * 4 * 8, "gated_delta_net/1": 2 * 4 * 4,
  ]

  @Test(arguments: contractCases)
  func stateSizeFollowsTheFormula(name: String, layer: Int) throws {
    let expected = try #require(Self.expectedStateSizes["\(name)/\(layer)"], "no expected state size for \(name)/\(layer)")
    #expect(smallMixer(name, layer: layer).stateSize(length: 12) == expected)
  }

  /// A per-layer list (Zoology's `Hybrid`) builds each layer's own mixer with its own options; the
  /// model's state is their sum.
  @Test func perLayerMixerListsAlternate() throws {
    let config = try ModelConfig(
      mixer: "base_conv,based", layers: 4, options: ["num_heads": .int(2), "feature_dim": .array([.int(4), .int(4), .int(4), .int(2)]), "kernel_size": .int(3)],
      dModel: 8, vocabSize: 11, maxPositions: 0, lMax: 12)
    let model = try LanguageModel(config: config, seed: 1)
    #expect(model.blocks.map { String(describing: type(of: $0.mixer)) } == ["BaseConvMixer", "BasedMixer", "BaseConvMixer", "BasedMixer"])
    #expect(model.stateSize(length: 12) == 2 * (8 * 3) + (2 * 4 * 15 + 2 * 15) + (2 * 4 * 6 + 2 * 6))
    #expect(model.parameters.contains { $0.name == "backbone.layers.1.sequence_mixer.proj_q.weight" })
    #expect(config.params["feature_dim"] == "-,4,-,2" && config.params["kernel_size"] == "3,-,3,-" && config.params["num_heads"] == "-,2,-,2")
    #expect(config.mixerLabel == "base_conv,based")
    #expect(throws: ModelError.self) { try ModelConfig(mixer: "base_conv,,based", layers: 2) }
    #expect(throws: ModelError.self) { try ModelConfig(mixer: "base_conv,nope", layers: 2) }
    #expect(throws: ModelError.self) { try ModelConfig(mixer: "base_conv", layers: 2, options: ["window_size": .int(3)]) }
  }

  /// Each mixer's options are documented, its small config is valid, and a stored config reads
  /// back to the same config; an unknown option in a stored config is an error naming it.
  @Test(arguments: MixerCatalogue.names)
  func configsDocumentValidateAndRoundTrip(name: String) throws {
    let type = try MixerCatalogue.config(named: name)
    #expect(Set(type.optionHelp.keys) == Set(MixerCatalogue.optionNames(of: type)), "\(name): options without help, or help without options")
    for layer in 0..<2 {
      let tiny = type.tiny(layer: layer)
      try tiny.validate(dModel: 8)
      let back = try MixerCatalogue.layer(from: MixerCatalogue.stored(tiny), layer: layer)
      #expect(back.name == name && back.options == tiny.options)
    }
    var stored = MixerCatalogue.stored(type.defaults(layer: 0)).objectValue!
    stored["no_such_option"] = .int(1)
    #expect { try MixerCatalogue.layer(from: .object(stored), layer: 0) } throws: { "\($0)".contains("'no_such_option'") }
  }

  /// Every file in `Sources/ZooModel/Mixers` declares a mixer config (`static let name = "..."`)
  /// that the catalogue lists, so no mixer escapes these tests.
  @Test func everyMixerFileIsInTheCatalogue() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let folder = root.appendingPathComponent("Sources/ZooModel/Mixers")
    let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".swift") }
    #expect(files.count >= MixerCatalogue.configs.count)
    let pattern = try Regex(#"static let name = "([a-z0-9_]+)""#)
    for file in files {
      let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
      let names = text.matches(of: pattern).compactMap { $0.output[1].substring.map(String.init) }
      #expect(!names.isEmpty, "\(file) declares no mixer config")
      for name in names { #expect(MixerCatalogue.names.contains(name), "\(file): mixer '\(name)' is not in MixerCatalogue.configs") }
    }
  }

  /// Configs stored before the catalogue (one `mixer` list, flat options) read as the same layers.
  @Test func legacyConfigsReadAsPerLayerConfigs() throws {
    let legacy = #"{"mixer": "base_conv,based", "d_model": 8, "n_layers": 4, "vocab_size": 11, "max_position_embeddings": 0, "num_heads": 2, "kernel_size": [3, -1], "window_size": 64, "feature_dim": 4, "attn_dropout": 0.1, "d_state": 16, "head_dim": 1, "l_max": 12}"#
    let config = try JSONDecoder().decode(ModelConfig.self, from: Data(legacy.utf8))
    let expected = try ModelConfig(
      mixer: "base_conv,based", layers: 4, options: ["num_heads": .int(2), "feature_dim": .int(4), "kernel_size": .array([.int(3), .int(-1)])],
      dModel: 8, vocabSize: 11, maxPositions: 0, lMax: 12)
    #expect(config == expected)
    #expect(try JSONDecoder().decode(ModelConfig.self, from: Data(config.canonicalJSON.utf8)) == config)
  }

  /// Based's quadratic (training) view equals its recurrent (linear-time) view.
  @Test func basedQuadraticAndRecurrentViewsAgree() {
    var rng = SplitMix64(seed: 9)
    let (batch, length, heads, f, d) = (2, 10, 2, 3, 8)
    let q = Tensor((0..<(batch * length * heads * f)).map { _ in Float(rng.nextGaussian()) }, shape: [batch, length, heads * f])
    let k = Tensor((0..<(batch * length * heads * f)).map { _ in Float(rng.nextGaussian()) }, shape: [batch, length, heads * f])
    let v = Tensor((0..<(batch * length * d)).map { _ in Float(rng.nextGaussian()) }, shape: [batch, length, d])
    let quadratic = Tape(recording: false).taylorLinearAttention(q: q, k: k, v: v, heads: heads, featureDim: f)
    let recurrent = Tensor(zeros: [batch, length, d])
    TaylorLinearAttention.recurrent(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, heads: heads,
      featureDim: f, d: d, out: recurrent.value.baseAddress!, threads: 1)
    let worst = zip(quadratic.array, recurrent.array).map { abs($0 - $1) }.max()!
    #expect(worst < 1e-5, "max difference \(worst)")
  }

  /// RetNet's parallel (training) view of retention equals its recurrent view.
  @Test func retentionParallelAndRecurrentViewsAgree() {
    var rng = SplitMix64(seed: 10)
    let (batch, length, heads, d) = (2, 16, 2, 8)
    let gammas = [0.96875, 0.8]
    func random(scale: Float) -> Tensor {
      Tensor((0..<(batch * length * d)).map { _ in Float(rng.nextGaussian()) * scale }, shape: [batch, length, d])
    }
    // Large enough queries and keys that the max(|Σ_m R_nm|, 1) normalizer takes both branches.
    let (q, k, v) = (random(scale: 1.5), random(scale: 1.5), random(scale: 1))
    let parallel = Tape(recording: false).retention(q: q, k: k, v: v, heads: heads, gammas: gammas)
    let recurrent = Tensor(zeros: [batch, length, d])
    Retention.recurrent(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, batch: batch, length: length, d: d,
      heads: heads, gammas: gammas, out: recurrent.value.baseAddress!, threads: 1)
    let worst = zip(parallel.array, recurrent.array).map { abs($0 - $1) }.max()!
    #expect(worst < 1e-5, "max difference \(worst)")
  }

  @Test func slidingWindowSeesOnlyItsWindow() {
    let mixer = smallMixer("sliding_window_attention")
    let x = randomInput(batch: 1, length: 12, seed: 5)
    let y = mixer.forward(x, tape: Tape(recording: false))
    // Window 4: output 10 sees inputs 7...10, so changing input 6 leaves it unchanged.
    let changed = Tensor(x.array, shape: x.shape)
    for c in 0..<8 { changed.value[6 * 8 + c] += 2 }
    let y2 = mixer.forward(changed, tape: Tape(recording: false))
    #expect(Array(y2.value[(10 * 8)..<(11 * 8)]) == Array(y.value[(10 * 8)..<(11 * 8)]))
    #expect(Array(y2.value[(9 * 8)..<(10 * 8)]) != Array(y.value[(9 * 8)..<(10 * 8)]))
  }
}
