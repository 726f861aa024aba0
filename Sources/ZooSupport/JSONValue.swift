import Foundation

/// Any JSON value, for settings whose keys are known only at run time (a mixer's options read
/// from a sweep file or the command line, merged over its defaults).
public enum JSONValue: Codable, Hashable, Sendable {
  case null
  case bool(Bool)
  /// A number without a fraction or exponent that fits an `Int`.
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null }
    else if let b = try? c.decode(Bool.self) { self = .bool(b) }
    else if let i = try? c.decode(Int.self) { self = .int(i) }
    else if let d = try? c.decode(Double.self) { self = .double(d) }
    else if let s = try? c.decode(String.self) { self = .string(s) }
    else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
    else { self = .object(try c.decode([String: JSONValue].self)) }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// The JSON form of an encodable value; with `snakeCaseKeys` its camelCase property names become
  /// snake_case keys (`numHeads` → `num_heads`), so a type needs no `CodingKeys` to be stored that way.
  public init(encoding value: some Encodable, snakeCaseKeys: Bool = false) throws {
    let encoder = JSONEncoder()
    if snakeCaseKeys { encoder.keyEncodingStrategy = .convertToSnakeCase }
    self = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(value))
  }

  /// Decodes a `T` from this value; with `snakeCaseKeys` the keys are read as snake_case forms of
  /// `T`'s property names (the inverse of `init(encoding:snakeCaseKeys:)`).
  public func decode<T: Decodable>(_ type: T.Type, snakeCaseKeys: Bool = false) throws -> T {
    let decoder = JSONDecoder()
    if snakeCaseKeys { decoder.keyDecodingStrategy = .convertFromSnakeCase }
    return try decoder.decode(type, from: JSONEncoder().encode(self))
  }

  /// The members of an object; nil for other values.
  public var objectValue: [String: JSONValue]? {
    if case .object(let o) = self { return o }
    return nil
  }

  /// The value as written in a flat table: numbers and strings bare, other values as JSON.
  public var text: String {
    switch self {
    case .null: "null"
    case .bool(let b): String(b)
    case .int(let i): String(i)
    case .double(let d): String(d)
    case .string(let s): s
    case .array, .object:
      String(decoding: (try? JSONEncoder().encode(self)) ?? Data(), as: UTF8.self)
    }
  }
}

/// A coding key made from any string, for errors about keys known only at run time.
public struct AnyCodingKey: CodingKey {
  public var stringValue: String
  public var intValue: Int? { nil }
  public init(_ string: String) { stringValue = string }
  public init?(stringValue: String) { self.stringValue = stringValue }
  public init?(intValue: Int) { nil }
}
