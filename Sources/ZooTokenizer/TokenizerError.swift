/// Errors loading a tokenizer (a tiktoken ranks file or a `tokenizer.json`).
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
  /// The file cannot be read.
  case unreadable(path: String)
  /// A line is not `base64 rank`.
  case malformedLine(path: String, line: Int)
  /// The ranks are not 0..<count, each once.
  case inconsistentRanks(path: String, reason: String)
  /// A bundled file is missing from the build.
  case missingResource
  /// Neither a bundled name nor an existing file.
  case unknownTokenizer(String)
  /// A `tokenizer.json` uses a part Zoo does not reproduce.
  case unsupported(path: String, reason: String)
  /// A `tokenizer.json` is not what its format says.
  case malformed(path: String, reason: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .unreadable(let path): "\(path): cannot read the BPE ranks file"
    case .malformedLine(let path, let line): "\(path):\(line): expected 'base64 rank'"
    case .inconsistentRanks(let path, let reason): "\(path): inconsistent ranks: \(reason)"
    case .missingResource: "a bundled tokenizer file is missing from the build (rebuild the package)"
    case .unknownTokenizer(let name):
      "unknown tokenizer '\(name)': give gpt2, gpt-neox-20b or the path of a tokenizer.json"
    case .unsupported(let path, let reason): "\(path): unsupported tokenizer: \(reason)"
    case .malformed(let path, let reason): "\(path): malformed tokenizer.json: \(reason)"
    }
  }
}
