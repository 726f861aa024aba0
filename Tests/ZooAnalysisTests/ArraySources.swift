import ZooAnalysis
import ZooStorage
import ZooSupport

/// The end-of-text id of the test stores (GPT-2's).
let endOfTextToken: UInt32 = 50256
/// GPT-2's vocabulary, as the test stores claim.
let testVocabulary = TokenVocabulary(tokenizer: "gpt2", tokenizerSHA256: "", vocabularySize: 50257, endOfText: endOfTextToken)

/// An in-memory token store.
struct ArrayTokenSource: TokenSource {
  var path = "memory.h5"
  var tokens: [UInt32]
  var offsets: [UInt64]
  var subsets: [UInt8]
  var subsetNames: [String]

  var vocabulary = testVocabulary
  var tokenCount: Int { tokens.count }
  func readTokens(_ range: Range<Int>, into buffer: UnsafeMutableBufferPointer<UInt32>) throws {
    for (i, t) in range.enumerated() { buffer[i] = tokens[t] }
  }
  func documentOffsets() throws -> [UInt64] { offsets }
  func documentSubsets() throws -> [UInt8] { subsets }
}

/// An in-memory loss file.
struct ArrayLossSource: LossSource {
  var info: LossSourceInfo
  var losses: [Float]
  var starts: [UInt64]

  init(run: String, losses: [Float], starts: [UInt64], rangeStart: Int = 0, store: String = "memory.h5") {
    info = LossSourceInfo(
      path: "\(run).h5", run: run, tokenStore: store, tokenStoreSHA256: "abc", rangeStart: rangeStart,
      rangeEnd: rangeStart + losses.count)
    self.losses = losses
    self.starts = starts
  }

  var count: Int { losses.count }
  func windowStarts() throws -> [UInt64] { starts }
  func readLosses(_ range: Range<Int>) throws -> [Float] { Array(losses[range]) }
}

/// The hand-made example of `GapAnalysisTests`: 12 tokens, two documents, two windows.
///
/// ```
/// position  0  1  2  3  4    5  6  7  8  9  10 11
/// token     1  2  1  2  EOT  3  1  2  3  1  2  EOT
/// document  wiki-----------  code------------------
/// window    0-----------------  1-----------------
/// hit                   d=1                    d=2
/// ```
/// attn losses sum to 18 (AR 2, other 16); conv to 22.5 (AR 5, other 17.5), 10 predicted tokens.
enum HandExample {
  static let eot = endOfTextToken
  static let store = ArrayTokenSource(
    tokens: [1, 2, 1, 2, eot, 3, 1, 2, 3, 1, 2, eot], offsets: [0, 5, 12], subsets: [1, 0],
    subsetNames: ["code, \"x\"", "wiki"])
  static let starts: [UInt64] = [0, 6]
  static let attn = ArrayLossSource(run: "attn", losses: [.nan, 2, 2, 0.5, 1, 3, .nan, 2, 2, 3, 1.5, 1], starts: starts)
  static let conv = ArrayLossSource(run: "conv", losses: [.nan, 2.5, 2, 2.5, 1, 3, .nan, 2, 3, 3, 2.5, 1], starts: starts)
}
