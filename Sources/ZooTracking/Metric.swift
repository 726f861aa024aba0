/// Which value of a metric is best: the lowest (`min`: losses), the highest (`max`: accuracies,
/// throughput), or none (`none`: settings and timings such as the learning rate), for which the
/// registry keeps no best.
public enum MetricGoal: String, Codable, Sendable, CaseIterable {
  case min
  case max
  case none
}

/// A metric as the code that logs it declares it: its key and its goal. The registry never infers
/// a goal from a key's name.
public struct Metric: Hashable, Sendable {
  /// The key, e.g. `train/loss`, `eval/accuracy/L128-kv8`.
  public var key: String
  /// Which value is best.
  public var goal: MetricGoal

  /// A metric named `key` whose best value is chosen by `goal`.
  public init(_ key: String, goal: MetricGoal) {
    self.key = key
    self.goal = goal
  }
}
