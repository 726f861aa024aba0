/// One step's data: `batch × length` inputs and targets, row-major; negative targets are unlabeled.
struct TrainingBatch: Sendable {
  var inputs: [Int32]
  var targets: [Int32]
  var batch: Int
  var length: Int
}

/// Where a run's batches come from: the batch of a step is the same in every process, so a
/// resumed run sees the data an uninterrupted one would.
protocol BatchSource {
  /// Steps in the whole run.
  var steps: Int { get }
  /// The batch of step `step` (0-based).
  func batch(at step: Int) -> TrainingBatch
}
