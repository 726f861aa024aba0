/// The brute-force O(L²) AR-hit marker, written straight from the definition (docs/ANALYSIS.md,
/// "AR hits"): for each token, scan back for the most recent equal bigram inside its window (or
/// document). The reference that ``ARMarker`` is tested and benchmarked against.
public enum ReferenceARMarker {
  /// Recall codes (`0` = not a hit, else distance + 1) of `tokens` split into windows starting at
  /// `windowStarts` (first 0, increasing).
  public static func codes(tokens: [UInt32], windowStarts: [Int], context: ARContext, endOfText: UInt32) -> [UInt32] {
    var codes = [UInt32](repeating: 0, count: tokens.count)
    let bounds = windowStarts + [tokens.count]
    for w in 0..<windowStarts.count {
      var segmentStart = bounds[w]
      for t in bounds[w]..<bounds[w + 1] where t > bounds[w] {
        if context == .document && tokens[t - 1] == endOfText {
          segmentStart = t
          continue
        }
        // Earlier second tokens j with segmentStart + 1 <= j < t, most recent first.
        var j = t - 1
        while j > segmentStart {
          if tokens[j - 1] == tokens[t - 1] && tokens[j] == tokens[t] {
            codes[t] = UInt32(t - j)
            break
          }
          j -= 1
        }
      }
    }
    return codes
  }
}
