/// Errors loading a BPE ranks file.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
  /// The file cannot be read.
  case unreadable(path: String)
  /// A line is not `base64 rank`.
  case malformedLine(path: String, line: Int)
  /// The ranks are not 0..<count, each once.
  case inconsistentRanks(path: String, reason: String)
  /// The bundled ranks file is missing from the build.
  case missingResource

  /// A one-line message.
  public var description: String {
    switch self {
    case .unreadable(let path): "\(path): cannot read the BPE ranks file"
    case .malformedLine(let path, let line): "\(path):\(line): expected 'base64 rank'"
    case .inconsistentRanks(let path, let reason): "\(path): inconsistent ranks: \(reason)"
    case .missingResource: "the bundled gpt2.tiktoken is missing from the build (rebuild the package)"
    }
  }
}
