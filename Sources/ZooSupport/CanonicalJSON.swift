import Foundation

extension Encodable {
  /// This value as JSON with sorted keys: the same bytes for equal values, in any process.
  public func canonicalJSONData() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try encoder.encode(self)
  }

  /// ``canonicalJSONData()`` as text (as the registry, checkpoints and `losses.h5` store configs),
  /// for values that always encode: no NaN or infinity inside.
  public var canonicalJSON: String { String(decoding: try! canonicalJSONData(), as: UTF8.self) }
}
