import Testing
import ZooAnalysis

@Suite struct BucketsTests {
  @Test func powersOfTenMatchPaperEdges() {
    let b = Buckets.powersOfTen()
    #expect(b.edges == [0, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000])
    #expect(b.index(of: 0) == 0)
    #expect(b.index(of: 1) == 1)
    #expect(b.index(of: 9) == 1)
    #expect(b.index(of: 10) == 2)
    #expect(b.index(of: 999_999) == 6)
    #expect(b.index(of: 1_000_000) == 7)
    #expect(b.index(of: UInt64.max) == 7)
    #expect(b.upperEdge(7) == nil)
    #expect(b.upperEdge(0) == 1)
  }

  @Test func powersOfTwoCoverTheMaximum() {
    let b = Buckets.powersOfTwo(covering: 2046)
    #expect(b.edges == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048])
    #expect(b.index(of: 3) == 2)
    #expect(b.index(of: 2046) == 11)
    for d: UInt64 in 0...5000 {
      let i = b.index(of: d)
      #expect(b.lowerEdge(i) <= d && d < (b.upperEdge(i) ?? .max), "distance \(d) in bucket \(i)")
    }
  }
}
