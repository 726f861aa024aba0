/// Errors reading a zstd stream; every message names the file.
public enum ZstdError: Error, CustomStringConvertible, Equatable {
  /// The file cannot be opened or read.
  case io(path: String, reason: String)
  /// The file is empty.
  case empty(path: String)
  /// The data is not zstd or is damaged, at this compressed byte offset.
  case corrupt(path: String, offset: Int, reason: String)
  /// The stream ends inside a frame.
  case truncated(path: String, offset: Int)

  /// A one-line message.
  public var description: String {
    switch self {
    case .io(let path, let reason): "\(path): cannot read: \(reason)"
    case .empty(let path): "\(path): empty file, not a zstd stream"
    case .corrupt(let path, let offset, let reason): "\(path): corrupt zstd data near byte \(offset): \(reason)"
    case .truncated(let path, let offset): "\(path): truncated zstd stream (ends inside a frame at byte \(offset))"
    }
  }
}
