/// Reduces a series to at most `2 * buckets` points: the x range is cut into `buckets` equal runs
/// of consecutive points and each keeps its minimum and its maximum, in x order, so no spike is
/// lost. NaN values (nil) are dropped. Series already small enough come back unchanged.
public func downsampleMinMax(x: [Double], y: [Double?], buckets: Int = 1_000) -> [(x: Double, y: Double)] {
  precondition(x.count == y.count && buckets > 0)
  var points: [(x: Double, y: Double)] = []
  points.reserveCapacity(min(x.count, 2 * buckets))
  for i in x.indices { if let v = y[i], v.isFinite { points.append((x[i], v)) } }
  guard points.count > 2 * buckets else { return points }
  var out: [(x: Double, y: Double)] = []
  out.reserveCapacity(2 * buckets)
  let n = points.count
  for b in 0..<buckets {
    let lo = b * n / buckets
    let hi = (b + 1) * n / buckets
    guard lo < hi else { continue }
    var iMin = lo
    var iMax = lo
    for i in lo..<hi {
      if points[i].y < points[iMin].y { iMin = i }
      if points[i].y > points[iMax].y { iMax = i }
    }
    if iMin == iMax {
      out.append(points[iMin])
    } else {
      out.append(points[min(iMin, iMax)])
      out.append(points[max(iMin, iMax)])
    }
  }
  return out
}
