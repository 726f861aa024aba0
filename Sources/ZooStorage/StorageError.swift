/// Errors of the storage layer; every message names the file.
public enum StorageError: Error, CustomStringConvertible, Equatable {
  /// An HDF5 call failed.
  case hdf5(path: String, operation: String)
  /// The file exists but is not the expected kind of store.
  case wrongFormat(path: String, expected: String, found: String)
  /// The file does not exist.
  case missing(path: String)
  /// Inconsistent arguments or contents.
  case invalid(path: String, reason: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .hdf5(let path, let operation): "\(path): HDF5 error while \(operation)"
    case .wrongFormat(let path, let expected, let found):
      "\(path): not a \(expected) file (format attribute: \(found.isEmpty ? "none" : found)); re-create it with the zoo tool that writes it"
    case .missing(let path): "\(path): no such file"
    case .invalid(let path, let reason): "\(path): \(reason)"
    }
  }
}
