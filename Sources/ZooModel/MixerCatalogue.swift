import ZooSupport

/// Every sequence mixer, listed once. Adding a mixer is its file in `Mixers/` plus one line here;
/// a test fails when a file in `Mixers/` declares a config that is not listed.
public enum MixerCatalogue {
  /// The mixers' configs, in the order help texts list them.
  public static let configs: [any MixerConfig.Type] = [
    AttentionMixer.Config.self,
    SlidingWindowAttentionMixer.Config.self,
    BaseConvMixer.Config.self,
    BasedMixer.Config.self,
    GLAMixer.Config.self,
    H3Mixer.Config.self,
    HyenaMixer.Config.self,
    LongConvMixer.Config.self,
    DeltaNetMixer.Config.self,
    GatedDeltaNetMixer.Config.self,
    MambaMixer.Config.self,
    Mamba2Mixer.Config.self,
    RetNetMixer.Config.self,
    RWKVMixer.Config.self,
    RWKV7Mixer.Config.self,
  ]

  /// Known mixer names.
  public static var names: [String] { configs.map { $0.name } }

  /// The config type named `name`.
  public static func config(named name: String) throws -> any MixerConfig.Type {
    guard let type = configs.first(where: { $0.name == name }) else {
      throw ModelError.invalidConfig("unknown mixer '\(name)' (known: \(names.joined(separator: ", ")))")
    }
    return type
  }

  /// The option names of a mixer (the keys its defaults encode), sorted.
  public static func optionNames(of type: any MixerConfig.Type) -> [String] {
    type.defaults(layer: 0).options.keys.sorted()
  }

  /// One config per layer: `names` (one, or one per layer, cycling) with `options` over each
  /// layer's defaults. An option applies to every layer whose mixer has it; an array value gives
  /// one value per layer, cycling (`kernel_size: [3, -1]`). An option that none of the mixers
  /// has is an error naming it. `defaults` go in first, on the layers that have them, unchecked
  /// (MQAR's attention dropout of 0.1).
  public static func layers(
    names: [String], count: Int, options: [String: JSONValue], defaults: [String: JSONValue] = [:]
  ) throws -> [any MixerConfig] {
    if names.isEmpty || names.contains("") { throw ModelError.invalidConfig("the mixer list has an empty entry") }
    let types = try names.map(config(named:))
    for key in options.keys.sorted() where !types.contains(where: { optionNames(of: $0).contains(key) }) {
      let offered = Set(types.flatMap(optionNames(of:))).sorted()
      throw ModelError.invalidConfig(
        "\(Set(names).sorted().joined(separator: ", ")) ha\(Set(names).count == 1 ? "s" : "ve") no option '\(key)'"
          + (offered.isEmpty ? " (no options)" : " (options: \(offered.joined(separator: ", ")))"))
    }
    return try (0..<count).map { layer in
      let type = types[layer % types.count]
      var values = type.defaults(layer: layer).options
      for (key, value) in defaults.merging(options, uniquingKeysWith: { $1 }) where values[key] != nil {
        if case .array(let list) = value {
          guard !list.isEmpty else { throw ModelError.invalidConfig("option '\(key)' has an empty list") }
          values[key] = list[layer % list.count]
        } else {
          values[key] = value
        }
      }
      return try decode(type, values, layer: layer)
    }
  }

  /// Reads one layer's stored config: `{"name": ..., options...}`; missing options take the
  /// layer's defaults, unknown ones are an error naming them.
  public static func layer(from value: JSONValue, layer: Int) throws -> any MixerConfig {
    guard var object = value.objectValue, case .string(let name)? = object.removeValue(forKey: "name") else {
      throw ModelError.invalidConfig("layer \(layer): a mixer is an object with a \"name\"")
    }
    let type = try config(named: name)
    var values = type.defaults(layer: layer).options
    for (key, option) in object {
      guard values[key] != nil else {
        throw ModelError.invalidConfig("layer \(layer): \(name) has no option '\(key)' (options: \(optionNames(of: type).joined(separator: ", ")))")
      }
      values[key] = option
    }
    return try decode(type, values, layer: layer)
  }

  /// The stored form of a layer's config: its name and every option.
  public static func stored(_ config: any MixerConfig) -> JSONValue {
    var object = config.options
    object["name"] = .string(config.name)
    return .object(object)
  }

  private static func decode(_ type: any MixerConfig.Type, _ values: [String: JSONValue], layer: Int) throws -> any MixerConfig {
    do { return try JSONValue.object(values).decode(type, snakeCaseKeys: true) } catch {
      let key: String
      switch error {
      case DecodingError.typeMismatch(_, let context), DecodingError.dataCorrupted(let context):
        // The path names the property (`numHeads`); the option is its snake_case key.
        key = optionName(property: context.codingPath.first?.stringValue ?? "?")
      default: key = "?"
      }
      throw ModelError.invalidConfig("layer \(layer): \(type.name) option '\(key)' has the wrong type (\(values[key]?.text ?? "missing"))")
    }
  }
}
