import Testing
import ZooAnalysis
import ZooSupport

/// The library's `arHits` for stores whose documents end with ``endOfTextToken``.
func arHits(tokens: [UInt32], windowStarts: [Int], context: ARContext = .window) -> [UInt32?] {
  ZooAnalysis.arHits(tokens: tokens, windowStarts: windowStarts, context: context, endOfText: endOfTextToken)
}

@Suite struct ARHitsTests {
  let eot = endOfTextToken

  @Test func repeatedBigramIsAHitAtItsSecondToken() {
    // a b a b: the second (a, b) ends at t = 3; the first ended at j = 1; one token (a) between.
    #expect(arHits(tokens: [1, 2, 1, 2], windowStarts: [0]) == [nil, nil, nil, 1])
  }

  @Test func firstTokensAreNeverHits() {
    // x x: t = 1 has bigram (x, x) but no earlier bigram can exist.
    #expect(arHits(tokens: [7, 7], windowStarts: [0]) == [nil, nil])
    #expect(arHits(tokens: [7], windowStarts: [0]) == [nil])
    #expect(arHits(tokens: [], windowStarts: []) == [])
  }

  @Test func overlappingOccurrencesCount() {
    // a a a a: (a, a) ends at 1, 2, 3; t = 2 and t = 3 repeat the one just before (distance 0).
    #expect(arHits(tokens: [5, 5, 5, 5], windowStarts: [0]) == [nil, nil, 0, 0])
  }

  @Test func distanceIsToTheMostRecentOccurrence() {
    // a b c a b d a b: (a, b) ends at 1, 4, 7; t = 4 -> j = 1 (2 between), t = 7 -> j = 4 (2 between).
    #expect(arHits(tokens: [1, 2, 3, 1, 2, 4, 1, 2], windowStarts: [0]) == [nil, nil, nil, nil, 2, nil, nil, 2])
  }

  @Test func searchRestartsAtEveryWindow() {
    // Windows [0, 4) and [4, 8) hold the same tokens: only repeats inside a window count.
    let tokens: [UInt32] = [1, 2, 1, 2, 1, 2, 1, 2]
    #expect(arHits(tokens: tokens, windowStarts: [0]) == [nil, nil, nil, 1, 1, 1, 1, 1])
    #expect(arHits(tokens: tokens, windowStarts: [0, 4]) == [nil, nil, nil, 1, nil, nil, nil, 1])
    // The bigram spanning the window boundary, (2, 1) at t = 4, is not part of the second window.
    #expect(arHits(tokens: [2, 1, 2, 1, 2, 9], windowStarts: [0, 3]) == [nil, nil, nil, nil, nil, nil])
  }

  @Test func documentContextRestartsAfterEndOfText() {
    // a b EOT a b a b in one window.
    let tokens: [UInt32] = [1, 2, eot, 1, 2, 1, 2]
    // Window context: (a, b) at t = 4 repeats t = 1; t = 6 repeats t = 4.
    #expect(arHits(tokens: tokens, windowStarts: [0], context: .window) == [nil, nil, nil, nil, 2, nil, 1])
    // Document context: t = 3 starts a document (not a hit); t = 4 is the document's first (a, b).
    #expect(arHits(tokens: tokens, windowStarts: [0], context: .document) == [nil, nil, nil, nil, nil, nil, 1])
  }

  @Test func hakunaMatataWorkedExample() {
    // docs/ANALYSIS.md, "AR hits": "Hakuna Matata means no worries Hakuna Matata it means no" -> "worries".
    let words = "Hakuna Matata means no worries Hakuna Matata it means no worries".split(separator: " ")
    var ids: [Substring: UInt32] = [:]
    let tokens = words.map { word in ids[word] ?? { ids[word] = UInt32(ids.count); return UInt32(ids.count - 1) }() }
    let hits = arHits(tokens: tokens, windowStarts: [0])
    let hitWords = hits.indices.filter { hits[$0] != nil }.map { "\(words[$0])@\($0)" }
    #expect(hitWords == ["Matata@6", "no@9", "worries@10"])
    // 2nd Matata: (Hakuna, Matata) ended at 1; 4 tokens between, as the paper counts.
    #expect(hits[6] == 4)
  }

  @Test func markerMatchesBruteForceOnRandomWindows() {
    for seed in 0..<200 as Range<UInt64> {
      var rng = SplitMix64(seed: seed)
      let count = rng.nextInt(below: 300)
      let vocabulary = 2 + rng.nextInt(below: 12)
      let tokens = (0..<count).map { _ in
        rng.nextInt(below: 20) == 0 ? endOfTextToken : UInt32(rng.nextInt(below: vocabulary))
      }
      var starts = count == 0 ? [] : [0]
      for t in 1..<max(count, 1) where rng.nextInt(below: 40) == 0 { starts.append(t) }
      for context in ARContext.allCases {
        let expected = ReferenceARMarker.codes(tokens: tokens, windowStarts: starts, context: context, endOfText: endOfTextToken)
        let got = arHits(tokens: tokens, windowStarts: starts, context: context).map { $0.map { $0 + 1 } ?? 0 }
        #expect(got == expected, "seed \(seed), context \(context), windows \(starts)")
      }
    }
  }

  @Test func markerMatchesBruteForceOnLongWindowsWithManyDistinctBigrams() {
    // Windows longer than the marker's initial table and a vocabulary large enough to fill it.
    for seed in 0..<4 as Range<UInt64> {
      var rng = SplitMix64(seed: 1000 + seed)
      let tokens = (0..<5000).map { _ in UInt32(rng.nextInt(below: 300)) }
      let starts = [0, 1, 4000]
      let expected = ReferenceARMarker.codes(tokens: tokens, windowStarts: starts, context: .window, endOfText: endOfTextToken)
      var marker = ARMarker(context: .window, endOfText: endOfTextToken, maxWindowLength: 16)
      var codes = [UInt32](repeating: 0, count: tokens.count)
      tokens.withUnsafeBufferPointer { t in
        codes.withUnsafeMutableBufferPointer { marker.mark(tokens: t, windowStarts: starts, codes: $0) }
      }
      #expect(codes == expected, "seed \(1000 + seed)")
      #expect(codes.contains { $0 != 0 }, "seed \(1000 + seed): the test needs some hits")
    }
  }
}

/// Ids past 16 bits (a vocabulary of 2^20) mark exactly as the brute-force marker does.
@Test func markerTakesTwentyBitIDs() {
  var rng = SplitMix64(seed: 77)
  let base = UInt32(ARMarker.maxVocabularySize - 64)
  let tokens = (0..<3000).map { _ in base + UInt32(rng.nextInt(below: 40)) }
  let eot = base + 63
  for context in ARContext.allCases {
    let expected = ReferenceARMarker.codes(tokens: tokens, windowStarts: [0, 1000], context: context, endOfText: eot)
    let got = ZooAnalysis.arHits(tokens: tokens, windowStarts: [0, 1000], context: context, endOfText: eot)
    #expect(got.map { $0.map { $0 + 1 } ?? 0 } == expected)
  }
}
