import ArgumentParser
import Foundation
import ZooModel
import ZooSupport

/// The sequence mixer and its options, shared by `zoo-train lm` and `zoo-train mqar`. The option
/// flags are not declared here: each mixer option in ``MixerCatalogue`` is a flag (`feature_dim`
/// is `--feature-dim`), collected from the arguments no other option took.
struct MixerOptions: ParsableArguments {
  @Option(help: "Sequence mixer, or one per layer, comma-separated, cycling (Zoology's Hybrid, e.g. base_conv,based); see the mixer options below.")
  var mixer = "attention"
  @Argument(parsing: .allUnrecognized, help: ArgumentHelp(visibility: .hidden)) var mixerFlags: [String] = []

  /// The mixers and their options, for a command's discussion: one paragraph per mixer, wrapped
  /// here (ArgumentParser re-wraps lines longer than 80 columns raggedly).
  static var discussion: String {
    var lines = [
      "Mixers and their options (an option applies to every layer whose mixer has it; a comma-separated value gives one per layer, cycling):"
    ]
    for type in MixerCatalogue.configs {
      let help = type.optionHelp
      lines += wrap("\(type.name): \(type.summary)" + (help.isEmpty ? "; no options." : "."), indent: "  ")
      let (even, odd) = (type.defaults(layer: 0).options, type.defaults(layer: 1).options)
      for name in MixerCatalogue.optionNames(of: type) {
        let value = even[name]!.text + (odd[name] == even[name] ? "" : " on even layers, \(odd[name]!.text) on odd")
        lines += wrap("\(flag(name)): \(help[name] ?? "") (default \(value))", indent: "      ")
      }
    }
    return lines.joined(separator: "\n")
  }

  /// `text` in lines of at most 79 columns, each starting with `indent`, continuations two further in.
  static func wrap(_ text: String, indent: String) -> [String] {
    var lines: [String] = []
    var line = indent
    for word in text.split(separator: " ") {
      if line.count + word.count + 1 > 79, line.trimmingCharacters(in: .whitespaces).count > 0 {
        lines.append(line)
        line = indent + "  "
      }
      line += (line.allSatisfy { $0 == " " } ? "" : " ") + word
    }
    lines.append(line)
    return lines
  }

  /// The flag of a mixer option.
  static func flag(_ option: String) -> String { "--" + option.replacingOccurrences(of: "_", with: "-") }

  /// The mixer names given with --mixer.
  var names: [String] {
    mixer.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
  }

  func validate() throws {
    _ = try options()
  }

  /// The mixer options given as flags, by option name, checked against the chosen mixers.
  func options() throws -> [String: JSONValue] {
    if names.contains("") { throw ValidationError("--mixer '\(mixer)' has an empty entry") }
    guard let types = try? names.map(MixerCatalogue.config(named:)) else {
      let unknown = names.first { !MixerCatalogue.names.contains($0) }!
      throw ValidationError("unknown mixer '\(unknown)' (known: \(MixerCatalogue.names.joined(separator: ", ")))")
    }
    let defaults = types.map { $0.defaults(layer: 0).options }
    var out: [String: JSONValue] = [:]
    var rest = mixerFlags[...]
    while let token = rest.popFirst() {
      guard token.hasPrefix("--"), token.count > 2 else { throw ValidationError("unexpected argument '\(token)'") }
      var name = String(token.dropFirst(2))
      var text: String
      if let equals = name.firstIndex(of: "=") {
        text = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      } else {
        guard let next = rest.popFirst() else { throw ValidationError("\(token) needs a value") }
        text = next
      }
      let key = name.replacingOccurrences(of: "-", with: "_")
      guard let example = defaults.lazy.compactMap({ $0[key] }).first else {
        let offered = Set(types.flatMap(MixerCatalogue.optionNames(of:))).sorted().map(Self.flag)
        throw ValidationError(
          "unknown option '\(token)' for \(Set(names).sorted().joined(separator: ", "))"
            + (offered.isEmpty ? " (its mixers take no options)" : " (mixer options: \(offered.joined(separator: ", ")))"))
      }
      let values = try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
        guard let value = Self.parse(String(part).trimmingCharacters(in: .whitespaces), like: example) else {
          throw ValidationError("\(token) wants \(Self.kind(of: example)), got '\(text)'")
        }
        return value
      }
      out[key] = values.count == 1 ? values[0] : .array(values)
    }
    return out
  }

  /// One config per layer for a model of `layers` blocks; `defaults` are the command's own
  /// defaults for options its mixers may have (MQAR's attention dropout).
  func layers(_ layers: Int, defaults: [String: JSONValue] = [:]) throws -> [any MixerConfig] {
    try MixerCatalogue.layers(names: names, count: layers, options: try options(), defaults: defaults)
  }

  private static func parse(_ text: String, like example: JSONValue) -> JSONValue? {
    switch example {
    // A float option whose default is whole (0) reads back as an integer, so numbers take either form.
    case .int, .double: Int(text).map(JSONValue.int) ?? Double(text).map(JSONValue.double)
    case .bool: Bool(text).map(JSONValue.bool)
    case .string: .string(text)
    default: nil
    }
  }

  private static func kind(of example: JSONValue) -> String {
    switch example {
    case .int, .double: "a number"
    case .bool: "true or false"
    default: "a value"
    }
  }
}
