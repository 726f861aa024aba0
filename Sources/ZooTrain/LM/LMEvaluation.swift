import ZooModel
import ZooTensor

/// Held-out evaluation in non-overlapping windows, laid out as a loss file wants it.
public enum LMEvaluation {
  /// Per-token losses over `range` of `tokens` (NaN at each window's first token) and the
  /// window starts (indices into the range), evaluating `batch` windows of `seqLen` at a time.
  public static func evaluate(
    model: LanguageModel, tokens: [UInt32], range: Range<Int>, seqLen: Int, batch: Int
  ) -> (losses: [Float], windowStarts: [UInt64], meanLoss: Double) {
    var losses = [Float](repeating: .nan, count: range.count)
    let windowStarts = Array(stride(from: 0, to: range.count, by: seqLen))
    var w = 0
    while w < windowStarts.count {
      let length = min(seqLen, range.count - windowStarts[w])
      // Batch consecutive windows of the same length.
      var group = [windowStarts[w]]
      while group.count < batch, w + group.count < windowStarts.count,
        min(seqLen, range.count - windowStarts[w + group.count]) == length
      {
        group.append(windowStarts[w + group.count])
      }
      w += group.count
      guard length >= 2 else { continue }
      var inputs = [Int32](repeating: 0, count: group.count * length)
      var targets = [Int32](repeating: -1, count: group.count * length)
      for (b, start) in group.enumerated() {
        for t in 0..<length {
          inputs[b * length + t] = Int32(tokens[range.lowerBound + start + t])
          if t + 1 < length { targets[b * length + t] = Int32(tokens[range.lowerBound + start + t + 1]) }
        }
      }
      let out = model.loss(inputs: inputs, targets: targets, batch: group.count, length: length, tape: Tape(recording: false))
      for (b, start) in group.enumerated() {
        for t in 0..<(length - 1) { losses[start + t + 1] = out.perToken[b * length + t] }
      }
    }
    var total = 0.0
    var count = 0
    for l in losses where !l.isNaN {
      total += Double(l)
      count += 1
    }
    return (losses, windowStarts.map { UInt64($0) }, count == 0 ? .nan : total / Double(count))
  }
}
