import ZooSupport

/// A sequence mixer's settings. Each mixer file owns one (`BaseConvMixer.Config`, ...), and
/// ``MixerCatalogue`` lists them once; everything else (command-line options, sweep files,
/// registry params, contract tests) is derived from these declarations.
///
/// The options are the config's stored properties, each under the snake_case form of its name
/// (`numHeads` is `num_heads`: Zoology's names where Zoology has one; no `CodingKeys`), so the
/// options of a mixer are the keys of `init(layer:)`'s JSON and have its values as defaults.
public protocol MixerConfig: Codable, Sendable {
  /// The mixer's name in stored configs and on the command line (`base_conv`).
  static var name: String { get }
  /// One line: what the mixer computes.
  static var summary: String { get }
  /// One line of help for each option, by option name.
  static var optionHelp: [String: String] { get }
  /// The defaults for the block at `layer` (BaseConv alternates short and long convolutions).
  init(layer: Int)
  /// Small settings for contract tests at `d_model` 8 and length 12 (two heads where there are heads).
  static func tiny(layer: Int) -> Self
  /// Checks the options for a model of width `dModel`; throws ``ModelError/invalidConfig(_:)``
  /// naming the option.
  func validate(dModel: Int) throws
  /// The mixer of one block.
  func makeMixer(context: MixerContext) -> any SequenceMixer
}

extension MixerConfig {
  /// This config's name (the type's).
  public var name: String { Self.name }

  /// The options and their values, as stored.
  public var options: [String: JSONValue] { (try? JSONValue(encoding: self, snakeCaseKeys: true).objectValue) ?? [:] }
}

/// Checks a head count (or a head width, named by `option`): at least 1 and dividing `dModel`.
func validateHeads(_ heads: Int, dModel: Int, option: String = "num_heads") throws {
  if heads < 1 || dModel % heads != 0 { throw ModelError.invalidConfig("\(option) (\(heads)) must divide d_model (\(dModel))") }
}

/// Checks a dropout probability is in [0, 1).
func validateDropout(_ p: Float, _ option: String) throws {
  if !(0..<1).contains(p) { throw ModelError.invalidConfig("\(option) must be in [0, 1)") }
}

/// Checks that each option is at least 1, in order; throws naming the first that is not.
func validatePositive(_ options: KeyValuePairs<String, Int>) throws {
  for (option, value) in options where value < 1 { throw ModelError.invalidConfig("\(option) must be positive, got \(value)") }
}
