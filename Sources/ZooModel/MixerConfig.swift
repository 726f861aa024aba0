import ZooSupport

/// A sequence mixer's settings. Each mixer file owns one (`BaseConvMixer.Config`, ...), and
/// ``MixerCatalogue`` lists them once; everything else (command-line options, sweep files,
/// registry params, contract tests) is derived from these declarations.
///
/// An option is declared once, as a stored property wrapped in ``MixerOption`` with its help line
/// and its default: `@MixerOption("heads (must divide d_model)") public var numHeads = 1`. It is
/// stored under the snake_case form of its name (`num_heads`: Zoology's names where Zoology has
/// one), so the options of a mixer are the keys of `defaults(layer:)`'s JSON.
public protocol MixerConfig: Codable, Sendable {
  /// The mixer's name in stored configs and on the command line (`base_conv`).
  static var name: String { get }
  /// One line: what the mixer computes.
  static var summary: String { get }
  /// The defaults for the block at `layer` (BaseConv alternates short and long convolutions).
  static func defaults(layer: Int) -> Self
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

  /// One line of help for each option, by option name (the help of its ``MixerOption``).
  public static var optionHelp: [String: String] {
    var help: [String: String] = [:]
    for child in Mirror(reflecting: defaults(layer: 0)).children {
      // A wrapped property `numHeads` is stored as `_numHeads`.
      if let label = child.label, let option = child.value as? any HelpedOption {
        help[optionName(property: String(label.dropFirst()))] = option.help
      }
    }
    return help
  }
}

/// One mixer option: a stored value with its help line. It is stored as the bare value, and two
/// options are equal when their values are.
@propertyWrapper
public struct MixerOption<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable, HelpedOption {
  public var wrappedValue: Value
  /// One line for `--help`; empty on a decoded option (help comes from the declaration).
  public let help: String

  public init(wrappedValue: Value, _ help: String) { (self.wrappedValue, self.help) = (wrappedValue, help) }

  public init(from decoder: any Decoder) throws {
    (wrappedValue, help) = (try decoder.singleValueContainer().decode(Value.self), "")
  }

  public func encode(to encoder: any Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(wrappedValue)
  }

  public static func == (a: Self, b: Self) -> Bool { a.wrappedValue == b.wrappedValue }
}

/// A ``MixerOption`` of any value type, for reading its help.
protocol HelpedOption { var help: String { get } }

/// The stored name of an option property: `numHeads` is `num_heads` (as `JSONEncoder`'s
/// `convertToSnakeCase` writes it; the contract tests check the two agree).
func optionName(property: String) -> String {
  property.map { $0.isUppercase ? "_" + $0.lowercased() : String($0) }.joined()
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
