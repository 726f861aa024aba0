import Foundation

/// The model skeleton's settings (Zoology's `ModelConfig`, docs/MODELS.md): width, depth, vocabulary,
/// learned positions, the sequence mixer by name and its options, and the MLP width.
public struct ModelConfig: Codable, Equatable, Sendable {
  /// Sequence mixer name (see ``MixerRegistry``), or a comma-separated list with one per layer,
  /// cycling if shorter (Zoology's `Hybrid`: `base_conv,based` puts BaseConv on even layers).
  public var mixer: String
  /// Model width.
  public var dModel: Int
  /// Number of blocks.
  public var layers: Int
  /// Vocabulary size (50257 for GPT-2 token stores).
  public var vocabSize: Int
  /// Learned position embeddings for this many positions; 0 for none.
  public var maxPositions: Int
  /// Attention heads.
  public var heads: Int
  /// MLP hidden width as a multiple of `dModel`; 0 replaces the MLP by the identity.
  public var hiddenMult: Int
  /// Convolution kernel size per layer for the convolution mixers (`-1` = implicit long
  /// convolution as long as the sequence); the list is indexed by layer, cycling if shorter.
  public var kernelSizes: [Int]
  /// Longest sequence the convolution filters are made for.
  public var lMax: Int
  /// Sliding-window attention: how many positions (itself included) each token sees.
  public var windowSize: Int
  /// Based: dimension of the projected queries and keys fed to the Taylor feature map.
  public var featureDim: Int
  /// Dropout on the embeddings entering the first block (Zoology's `embed_dropout`), training only.
  public var embedDropout: Float
  /// Dropout on the attention probabilities (Zoology's attention `dropout`), training only.
  public var attnDropout: Float
  /// State dimension of the SSM mixers: H3's diagonal SSM and shift filter, Mamba's selective scan.
  public var dState: Int
  /// H3: channels per head of the key–value outer product (Zoology's `head_dim`).
  public var headDim: Int

  enum CodingKeys: String, CodingKey {
    case mixer
    case dModel = "d_model"
    case layers = "n_layers"
    case vocabSize = "vocab_size"
    case maxPositions = "max_position_embeddings"
    case heads = "num_heads"
    case hiddenMult = "hidden_mult"
    case kernelSizes = "kernel_size"
    case lMax = "l_max"
    case windowSize = "window_size"
    case featureDim = "feature_dim"
    case embedDropout = "embed_dropout"
    case attnDropout = "attn_dropout"
    case dState = "d_state"
    case headDim = "head_dim"
  }

  /// A configuration; defaults are Zoology's small LM.
  public init(
    mixer: String = "attention", dModel: Int = 128, layers: Int = 2, vocabSize: Int = 50257, maxPositions: Int = 256,
    heads: Int = 1, hiddenMult: Int = 4, kernelSizes: [Int] = [3, -1], lMax: Int? = nil, windowSize: Int = 64,
    featureDim: Int = 16, embedDropout: Float = 0, attnDropout: Float = 0, dState: Int = 16, headDim: Int = 1
  ) {
    self.mixer = mixer
    self.dModel = dModel
    self.layers = layers
    self.vocabSize = vocabSize
    self.maxPositions = maxPositions
    self.heads = heads
    self.hiddenMult = hiddenMult
    self.kernelSizes = kernelSizes
    self.lMax = lMax ?? max(maxPositions, 1)
    self.windowSize = windowSize
    self.featureDim = featureDim
    self.embedDropout = embedDropout
    self.attnDropout = attnDropout
    self.dState = dState
    self.headDim = headDim
  }

  /// Decodes a stored config; keys added in later versions take their defaults when absent.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = ModelConfig()
    mixer = try c.decode(String.self, forKey: .mixer)
    dModel = try c.decode(Int.self, forKey: .dModel)
    layers = try c.decode(Int.self, forKey: .layers)
    vocabSize = try c.decode(Int.self, forKey: .vocabSize)
    maxPositions = try c.decode(Int.self, forKey: .maxPositions)
    heads = try c.decodeIfPresent(Int.self, forKey: .heads) ?? defaults.heads
    hiddenMult = try c.decodeIfPresent(Int.self, forKey: .hiddenMult) ?? defaults.hiddenMult
    kernelSizes = try c.decodeIfPresent([Int].self, forKey: .kernelSizes) ?? defaults.kernelSizes
    lMax = try c.decodeIfPresent(Int.self, forKey: .lMax) ?? max(maxPositions, 1)
    windowSize = try c.decodeIfPresent(Int.self, forKey: .windowSize) ?? defaults.windowSize
    featureDim = try c.decodeIfPresent(Int.self, forKey: .featureDim) ?? defaults.featureDim
    embedDropout = try c.decodeIfPresent(Float.self, forKey: .embedDropout) ?? defaults.embedDropout
    attnDropout = try c.decodeIfPresent(Float.self, forKey: .attnDropout) ?? defaults.attnDropout
    dState = try c.decodeIfPresent(Int.self, forKey: .dState) ?? defaults.dState
    headDim = try c.decodeIfPresent(Int.self, forKey: .headDim) ?? defaults.headDim
  }

  /// The mixers by layer, as listed in `mixer`.
  public var mixerNames: [String] { ModelConfig.mixerNames(of: mixer) }

  /// The names in a mixer list: one name, or one per layer, comma-separated.
  public static func mixerNames(of mixer: String) -> [String] {
    mixer.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
  }

  /// The mixer of layer `layer`.
  public func mixerName(layer: Int) -> String { mixerNames[layer % mixerNames.count] }

  /// The kernel size of layer `layer`.
  public func kernelSize(layer: Int) -> Int { kernelSizes[layer % kernelSizes.count] }

  /// Canonical JSON (sorted keys), as stored in the registry and in `losses.h5`.
  public var json: String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try! encoder.encode(self), as: UTF8.self)
  }

  /// Checks the settings; throws a message naming the bad one.
  public func validate() throws {
    func fail(_ message: String) -> ModelError { ModelError.invalidConfig(message) }
    if dModel < 1 { throw fail("d_model must be positive") }
    if layers < 1 { throw fail("n_layers must be at least 1") }
    if vocabSize < 2 { throw fail("vocab_size must be at least 2") }
    if maxPositions < 0 { throw fail("max_position_embeddings must be >= 0") }
    if heads < 1 || dModel % heads != 0 { throw fail("num_heads (\(heads)) must divide d_model (\(dModel))") }
    if hiddenMult < 0 { throw fail("hidden_mult must be >= 0") }
    if kernelSizes.isEmpty || kernelSizes.contains(where: { $0 == 0 || $0 < -1 }) {
      throw fail("kernel sizes must be positive or -1 (implicit long convolution), got \(kernelSizes)")
    }
    if lMax < 1 { throw fail("l_max must be positive") }
    if windowSize < 1 { throw fail("window_size must be positive") }
    if featureDim < 1 { throw fail("feature_dim must be positive") }
    if !(0..<1).contains(embedDropout) || !(0..<1).contains(attnDropout) { throw fail("dropout must be in [0, 1)") }
    if dState < 1 { throw fail("d_state must be positive") }
    if headDim < 1 || dModel % headDim != 0 { throw fail("head_dim (\(headDim)) must divide d_model (\(dModel))") }
    try ModelConfig.validateMixers(mixer)
  }

  /// Checks a mixer list (one name, or one per layer, comma-separated) names known mixers.
  public static func validateMixers(_ mixer: String) throws {
    let names = mixerNames(of: mixer)
    if names.isEmpty || names.contains("") { throw ModelError.invalidConfig("mixer list '\(mixer)' has an empty entry") }
    for name in names where !MixerRegistry.names.contains(name) {
      throw ModelError.invalidConfig("unknown mixer '\(name)' (known: \(MixerRegistry.names.joined(separator: ", ")))")
    }
  }
}

/// Errors from building or loading a model.
public enum ModelError: Error, CustomStringConvertible, Equatable {
  case invalidConfig(String)
  case badCheckpoint(path: String, reason: String)

  public var description: String {
    switch self {
    case .invalidConfig(let message): "invalid model config: \(message)"
    case .badCheckpoint(let path, let reason): "\(path): not a usable checkpoint: \(reason)"
    }
  }
}
