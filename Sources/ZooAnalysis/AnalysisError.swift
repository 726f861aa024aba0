/// Why an analysis could not run; every message is one line naming the file at fault.
public enum AnalysisError: Error, CustomStringConvertible, Equatable {
  /// Two loss files do not evaluate the same tokens with the same windows.
  case runsDiffer(file: String, reference: String, reason: String)
  /// A loss file's windows break the contract (first 0, increasing, inside the range).
  case badWindows(file: String, reason: String)
  /// A predicted token's loss is NaN or infinite.
  case nonFiniteLoss(file: String, index: Int)
  /// The token store is not the one the loss files were computed on.
  case tokenStoreMismatch(file: String, reason: String)
  /// A bigram counts file is malformed.
  case badBigramFile(file: String, reason: String)
  /// The analysis was asked for something it cannot do.
  case invalidRequest(String)

  /// The one-line message.
  public var description: String {
    switch self {
    case .runsDiffer(let file, let reference, let reason):
      return "\(file): \(reason) (compared with \(reference)); all runs must cover the same tokens and windows"
    case .badWindows(let file, let reason): return "\(file): bad /window_starts: \(reason)"
    case .nonFiniteLoss(let file, let index): return "\(file): loss at index \(index) is not finite"
    case .tokenStoreMismatch(let file, let reason): return "\(file): \(reason)"
    case .badBigramFile(let file, let reason): return "\(file): not a bigram counts file: \(reason)"
    case .invalidRequest(let message): return message
    }
  }
}
