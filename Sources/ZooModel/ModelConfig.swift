import Foundation
import ZooSupport

/// The model skeleton's settings (Zoology's `ModelConfig`, docs/MODELS.md): width, depth,
/// vocabulary, learned positions, the MLP width, and one sequence mixer config per layer
/// (Zoology's `Hybrid`: each layer has its own mixer and options).
///
/// Stored as JSON with `mixers`, one `{"name": ..., options...}` object per layer, and `n_layers`
/// (their count, for readers). Configs
/// written before the catalogue (a `mixer` list and flat options) are read too.
public struct ModelConfig: Codable, Equatable, Sendable {
  /// Model width.
  public var dModel: Int
  /// Vocabulary size (the token stores' tokenizer size).
  public var vocabSize: Int
  /// Learned position embeddings for this many positions; 0 for none.
  public var maxPositions: Int
  /// MLP hidden width as a multiple of `dModel`; 0 replaces the MLP by the identity.
  public var hiddenMult: Int
  /// Longest sequence the convolution filters are made for.
  public var lMax: Int
  /// Dropout on the embeddings entering the first block (Zoology's `embed_dropout`), training only.
  public var embedDropout: Float
  /// The sequence mixer of each layer; its count is the number of blocks.
  public var mixers: [any MixerConfig]

  enum CodingKeys: String, CodingKey {
    case dModel = "d_model"
    case vocabSize = "vocab_size"
    case maxPositions = "max_position_embeddings"
    case hiddenMult = "hidden_mult"
    case lMax = "l_max"
    case embedDropout = "embed_dropout"
    case mixers
    case layers = "n_layers"
  }

  /// A configuration; `lMax` defaults to the positions (at least 1).
  public init(
    mixers: [any MixerConfig], dModel: Int = 128, vocabSize: Int = 50257, maxPositions: Int = 256, hiddenMult: Int = 4,
    lMax: Int? = nil, embedDropout: Float = 0
  ) {
    self.mixers = mixers
    self.dModel = dModel
    self.vocabSize = vocabSize
    self.maxPositions = maxPositions
    self.hiddenMult = hiddenMult
    self.lMax = lMax ?? max(maxPositions, 1)
    self.embedDropout = embedDropout
  }

  /// A configuration of `layers` blocks whose mixers are `mixer` (one name, or a comma-separated
  /// list, cycling) with `options` applied as ``MixerCatalogue/layers(names:count:options:defaults:)`` does.
  public init(
    mixer: String, layers: Int, options: [String: JSONValue] = [:], dModel: Int = 128, vocabSize: Int = 50257,
    maxPositions: Int = 256, hiddenMult: Int = 4, lMax: Int? = nil, embedDropout: Float = 0
  ) throws {
    let names = mixer.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    self.init(
      mixers: try MixerCatalogue.layers(names: names, count: layers, options: options), dModel: dModel, vocabSize: vocabSize,
      maxPositions: maxPositions, hiddenMult: hiddenMult, lMax: lMax, embedDropout: embedDropout)
  }

  /// Number of blocks.
  public var layers: Int { mixers.count }

  /// The mixer names by layer.
  public var mixerNames: [String] { mixers.map(\.name) }

  /// The mixers as one label: the shortest list that repeats to every layer's mixer
  /// (`base_conv,based` for four alternating layers), as runs are listed.
  public var mixerLabel: String {
    let names = mixerNames
    let period = (1...max(1, names.count)).first { p in names.indices.allSatisfy { names[$0] == names[$0 % p] } } ?? names.count
    return names.prefix(period).joined(separator: ",")
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(dModel, forKey: .dModel)
    try c.encode(vocabSize, forKey: .vocabSize)
    try c.encode(maxPositions, forKey: .maxPositions)
    try c.encode(hiddenMult, forKey: .hiddenMult)
    try c.encode(lMax, forKey: .lMax)
    try c.encode(embedDropout, forKey: .embedDropout)
    try c.encode(mixers.map(MixerCatalogue.stored), forKey: .mixers)
    try c.encode(layers, forKey: .layers)
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    dModel = try c.decode(Int.self, forKey: .dModel)
    vocabSize = try c.decode(Int.self, forKey: .vocabSize)
    maxPositions = try c.decode(Int.self, forKey: .maxPositions)
    hiddenMult = try c.decodeIfPresent(Int.self, forKey: .hiddenMult) ?? 4
    lMax = try c.decodeIfPresent(Int.self, forKey: .lMax) ?? max(maxPositions, 1)
    embedDropout = try c.decodeIfPresent(Float.self, forKey: .embedDropout) ?? 0
    if let stored = try c.decodeIfPresent([JSONValue].self, forKey: .mixers) {
      mixers = try stored.enumerated().map { try MixerCatalogue.layer(from: $1, layer: $0) }
      if let layers = try c.decodeIfPresent(Int.self, forKey: .layers), layers != mixers.count {
        throw ModelError.invalidConfig("n_layers is \(layers) but \(mixers.count) mixers are listed")
      }
    } else {
      mixers = try Self.legacyMixers(try decoder.singleValueContainer().decode([String: JSONValue].self))
    }
  }

  /// The layers of a config stored before the catalogue: `mixer` (a name or a cycling list),
  /// `n_layers`, and flat options shared by all layers (`kernel_size` a list by layer, cycling;
  /// `num_heads`, `window_size`, `feature_dim`, `d_state`, `head_dim`, `attn_dropout`).
  static func legacyMixers(_ stored: [String: JSONValue]) throws -> [any MixerConfig] {
    guard case .string(let mixer)? = stored["mixer"], case .int(let layers)? = stored["n_layers"] else {
      throw ModelError.invalidConfig("a model config needs \"mixers\" (or the older \"mixer\" and \"n_layers\")")
    }
    let names = mixer.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    var options: [String: JSONValue] = [:]
    for key in ["num_heads", "kernel_size", "window_size", "feature_dim", "d_state", "head_dim", "attn_dropout"] {
      options[key] = stored[key]
    }
    let types = try names.map(MixerCatalogue.config(named:))
    let offered = Set(types.flatMap(MixerCatalogue.optionNames(of:)))
    return try MixerCatalogue.layers(names: names, count: layers, options: options.filter { offered.contains($0.key) })
  }

  public static func == (a: ModelConfig, b: ModelConfig) -> Bool { a.canonicalJSON == b.canonicalJSON }

  /// Flat parameters for the registry: the skeleton's settings, `mixer` (``mixerLabel``) and every
  /// mixer option under its name. An option every layer has with one value is that value;
  /// otherwise one entry per layer, comma-separated, `-` where a layer's mixer lacks it.
  public var params: [String: String] {
    var out: [String: String] = [
      "d_model": String(dModel), "layers": String(layers), "vocab_size": String(vocabSize),
      "max_position_embeddings": String(maxPositions), "hidden_mult": String(hiddenMult), "l_max": String(lMax),
      "embed_dropout": String(embedDropout), "mixer": mixerLabel,
    ]
    let perLayer = mixers.map(\.options)
    for key in Set(perLayer.flatMap(\.keys)) {
      let values = perLayer.map { $0[key]?.text ?? "-" }
      out[key] = Set(values).count == 1 ? values[0] : values.joined(separator: ",")
    }
    return out
  }

  /// Checks the settings; throws a message naming the bad one.
  public func validate() throws {
    func fail(_ message: String) -> ModelError { ModelError.invalidConfig(message) }
    if dModel < 1 { throw fail("d_model must be positive") }
    if mixers.isEmpty { throw fail("a model needs at least one layer") }
    if vocabSize < 2 { throw fail("vocab_size must be at least 2") }
    if maxPositions < 0 { throw fail("max_position_embeddings must be >= 0") }
    if hiddenMult < 0 { throw fail("hidden_mult must be >= 0") }
    if lMax < 1 { throw fail("l_max must be positive") }
    if !(0..<1).contains(embedDropout) { throw fail("embed_dropout must be in [0, 1)") }
    for (layer, mixer) in mixers.enumerated() {
      do { try mixer.validate(dModel: dModel) } catch ModelError.invalidConfig(let message) {
        throw fail("layer \(layer) (\(mixer.name)): \(message)")
      }
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
