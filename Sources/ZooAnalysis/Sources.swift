import ZooStorage
import ZooSupport

/// A token store as the analysis reads it: token ranges and document boundaries with their subsets.
/// `ZooStorage.TokenStore` conforms; tests use in-memory arrays.
public protocol TokenSource {
  /// The file path, for messages.
  var path: String { get }
  /// Tokens in the store.
  var tokenCount: Int { get }
  /// Subset names; ``documentSubsets()`` indexes them.
  var subsetNames: [String] { get }
  /// Tokenizer, vocabulary size and end-of-text id of the ids.
  var vocabulary: TokenVocabulary { get }
  /// Copies tokens `range` into `buffer` (`buffer.count == range.count`).
  func readTokens(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt32>) throws
  /// Start of every document, then the token count (D + 1 values).
  func documentOffsets() throws -> [UInt64]
  /// Subset index of every document (D values).
  func documentSubsets() throws -> [UInt8]
}

/// What a loss file says about the tokens it scores (its attributes, docs/FORMATS.md, "Per-token losses").
public struct LossSourceInfo: Sendable, Equatable {
  /// The loss file path, for messages.
  public var path: String
  /// The run's name.
  public var run: String
  /// File name of the token store the losses were computed on.
  public var tokenStore: String
  /// SHA-256 of that token store.
  public var tokenStoreSHA256: String
  /// First token of the scored range in the store.
  public var rangeStart: Int
  /// End of the scored range.
  public var rangeEnd: Int

  /// Memberwise.
  public init(path: String, run: String, tokenStore: String, tokenStoreSHA256: String, rangeStart: Int, rangeEnd: Int) {
    self.path = path
    self.run = run
    self.tokenStore = tokenStore
    self.tokenStoreSHA256 = tokenStoreSHA256
    self.rangeStart = rangeStart
    self.rangeEnd = rangeEnd
  }
}

/// A per-token loss file as the analysis reads it. `ZooStorage.LossFileReader` is adapted by
/// ``LossFileSource``; tests use in-memory arrays.
public protocol LossSource {
  /// The file's attributes.
  var info: LossSourceInfo { get }
  /// Losses in the file (`rangeEnd − rangeStart`).
  var count: Int { get }
  /// Window starts, indices into the range.
  func windowStarts() throws -> [UInt64]
  /// Losses `range` (indices into the range).
  func readLosses(_ range: Range<Int>) throws -> [Float]
}
