import Foundation
import ZooStorage
import ZooSupport

/// The token stores a language model trains on, held in memory (4 bytes per token), split into
/// a training part and a held-out evaluation range at the end of the last store that training
/// never samples. All stores must hold ids of one tokenizer.
public final class TokenCorpus {
  /// One store's tokens.
  public struct Part {
    public var path: String
    public var name: String
    public var sha256: String
    public var tokens: [UInt32]
    /// Tokens `0..<trainEnd` are sampled for training.
    public var trainEnd: Int
  }

  public let parts: [Part]
  /// Held-out range in the last store.
  public let evalRange: Range<Int>
  /// What the ids mean (the same in every store).
  public let vocabulary: TokenVocabulary

  /// The vocabulary the stores at `paths` share; stores of different tokenizers are an error
  /// naming two of them.
  public static func vocabulary(of paths: [String]) throws -> TokenVocabulary {
    guard let first = paths.first else { throw TrainError.invalid("no token stores given") }
    for path in paths where !FileManager.default.fileExists(atPath: path) {
      throw TrainError.invalid("no such token store: \(path)")
    }
    let vocabulary = try TokenStore(path: first).vocabulary
    for path in paths.dropFirst() {
      let other = try TokenStore(path: path).vocabulary
      guard other.sameTokens(as: vocabulary) else {
        throw TrainError.invalid(
          "\(path) holds \(other.summary) ids but \(first) holds \(vocabulary.summary): one run trains on one tokenizer")
      }
    }
    return vocabulary
  }

  /// Loads `paths`; holds out the last `evalTokens` tokens of the last store.
  public init(paths: [String], evalTokens: Int, windowLength: Int, vocabSize: Int) throws {
    vocabulary = try TokenCorpus.vocabulary(of: paths)
    var parts: [Part] = []
    for path in paths {
      let store = try TokenStore(path: path)
      let tokens = try store.readTokens(0..<store.tokenCount)
      if let largest = tokens.max(), Int(largest) >= vocabSize {
        throw TrainError.invalid("\(path): token id \(largest) is outside the model's vocabulary of \(vocabSize)")
      }
      parts.append(
        Part(
          path: path, name: URL(fileURLWithPath: path).lastPathComponent, sha256: try SHA256.hex(ofFile: path),
          tokens: tokens, trainEnd: tokens.count))
    }
    let last = parts.count - 1
    let lastCount = parts[last].tokens.count
    guard evalTokens >= 2, evalTokens < lastCount else {
      throw TrainError.invalid("--eval-tokens \(evalTokens) must be between 2 and the last store's \(lastCount) tokens")
    }
    evalRange = (lastCount - evalTokens)..<lastCount
    parts[last].trainEnd = evalRange.lowerBound
    for part in parts {
      if part.trainEnd > 0 && part.trainEnd < windowLength {
        throw TrainError.invalid("\(part.path): \(part.trainEnd) training tokens, fewer than one window of \(windowLength)")
      }
    }
    guard parts.contains(where: { $0.trainEnd >= windowLength }) else {
      throw TrainError.invalid("no store has a training window of \(windowLength) tokens")
    }
    self.parts = parts
  }

  /// Training tokens in all stores.
  public var trainTokens: Int { parts.reduce(0) { $0 + $1.trainEnd } }

  /// The store holding the evaluation range.
  public var evalPart: Part { parts[parts.count - 1] }

  /// `batch` windows of `length` tokens for step `step`, drawn uniformly over training tokens
  /// (crossing document boundaries) from a generator seeded by `(seed, step)`, so a resumed
  /// run sees the same data as an uninterrupted one. Returns the windows back to back.
  public func trainingWindows(step: Int, batch: Int, length: Int, seed: UInt64) -> [UInt32] {
    var rng = SplitMix64(seed: seed &+ UInt64(step) &* 0x9E37_79B9_7F4A_7C15)
    // Number of window starts per store.
    let starts = parts.map { max(0, $0.trainEnd - length + 1) }
    let total = starts.reduce(0, +)
    var out: [UInt32] = []
    out.reserveCapacity(batch * length)
    for _ in 0..<batch {
      var k = rng.nextInt(below: total)
      var p = 0
      while k >= starts[p] {
        k -= starts[p]
        p += 1
      }
      out += parts[p].tokens[k..<(k + length)]
    }
    return out
  }

  /// Unigram entropy (nats) of the training tokens, and the loss on the held-out range of the
  /// training unigram distribution (add-one smoothed over `vocabSize`): the context-free
  /// baselines a language model has to beat.
  public func unigramBaselines(vocabSize: Int) -> (trainEntropy: Double, heldOutLoss: Double) {
    var counts = [Int](repeating: 0, count: max(vocabSize, vocabulary.vocabularySize))
    for part in parts { for t in part.tokens[0..<part.trainEnd] { counts[Int(t)] += 1 } }
    let n = Double(trainTokens)
    let entropy = counts.reduce(0.0) { $1 == 0 ? $0 : $0 - Double($1) / n * Foundation.log(Double($1) / n) }
    let smoothed = n + Double(vocabSize)
    var heldOut = 0.0
    for t in evalPart.tokens[evalRange] { heldOut -= Foundation.log((Double(counts[Int(t)]) + 1) / smoothed) }
    return (entropy, heldOut / Double(evalRange.count))
  }
}
