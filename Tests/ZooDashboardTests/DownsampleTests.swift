import Foundation
import Testing

@testable import ZooDashboard

@Suite struct DownsampleTests {
  @Test func keepsEverySpikeAndBoundsThePointCount() {
    let n = 1_000_000
    var y: [Double?] = (0..<n).map { i in sin(Double(i) / 1000) }
    let spikes = [12_345: 50.0, 500_001: -40.0, 999_998: 30.0]
    for (i, v) in spikes { y[i] = v }
    y[777] = nil
    let x = (0..<n).map(Double.init)
    let out = downsampleMinMax(x: x, y: y, buckets: 1_000)
    #expect(out.count <= 2_000)
    for (i, v) in spikes { #expect(out.contains { $0.x == Double(i) && $0.y == v }) }
    #expect(zip(out, out.dropFirst()).allSatisfy { $0.x < $1.x })
    #expect(!out.contains { $0.x == 777 })
  }

  @Test func smallSeriesComeBackWhole() {
    let out = downsampleMinMax(x: [1, 2, 3], y: [3, nil, 1], buckets: 10)
    #expect(out.map(\.x) == [1, 3] && out.map(\.y) == [3, 1])
  }
}
