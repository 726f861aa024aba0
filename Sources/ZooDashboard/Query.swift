import Foundation

/// A request target split into its decoded path and query parameters (in order, repeats kept),
/// and rebuilt into percent-encoded URLs for links.
struct Query: Sendable, Equatable {
  var path: String
  var items: [(key: String, value: String)]

  init(path: String, items: [(key: String, value: String)] = []) {
    self.path = path
    self.items = items
  }

  static func == (a: Query, b: Query) -> Bool {
    a.path == b.path && a.items.map(\.key) == b.items.map(\.key) && a.items.map(\.value) == b.items.map(\.value)
  }

  /// Parses a raw target (`/run?name=a%20b`); nil when its percent-encoding is malformed.
  init?(target: String) {
    let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    guard let path = String(parts[0]).removingPercentEncoding else { return nil }
    var items: [(String, String)] = []
    if parts.count == 2 {
      for pair in parts[1].split(separator: "&") {
        let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        let decode = { (s: Substring) in String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
        guard let key = decode(kv[0]), let value = kv.count == 2 ? decode(kv[1]) : "" else { return nil }
        items.append((key, value))
      }
    }
    self.init(path: path, items: items)
  }

  /// The first value of `key`.
  func value(_ key: String) -> String? { items.first { $0.key == key }?.value }

  /// Every value of `key`, in order.
  func values(_ key: String) -> [String] { items.filter { $0.key == key }.map(\.value) }

  /// This query with `key` set to `value` alone (nil removes it).
  func setting(_ key: String, to value: String?) -> Query {
    var copy = self
    copy.items.removeAll { $0.key == key }
    if let value { copy.items.append((key, value)) }
    return copy
  }

  /// The percent-encoded URL.
  var url: String {
    let encodedPath = path.addingPercentEncoding(withAllowedCharacters: Query.pathAllowed) ?? path
    guard !items.isEmpty else { return encodedPath }
    let q = items.map { Query.encode($0.key) + "=" + Query.encode($0.value) }.joined(separator: "&")
    return encodedPath + "?" + q
  }

  private static let pathAllowed: CharacterSet = {
    var set = CharacterSet.alphanumerics
    set.insert(charactersIn: "/-._~")
    return set
  }()

  private static let valueAllowed: CharacterSet = {
    var set = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    set.insert(charactersIn: "-._~/")
    return set
  }()

  static func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: valueAllowed) ?? s }
}
