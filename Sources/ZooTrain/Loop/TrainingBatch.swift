/// One step's data: `batch × length` inputs and targets, row-major; negative targets are unlabeled.
public struct TrainingBatch: Sendable {
  public var inputs: [Int32]
  public var targets: [Int32]
  public var batch: Int
  public var length: Int

  public init(inputs: [Int32], targets: [Int32], batch: Int, length: Int) {
    self.inputs = inputs
    self.targets = targets
    self.batch = batch
    self.length = length
  }
}

/// Where a run's batches come from: the batch of a step is the same in every process, so a
/// resumed run sees the data an uninterrupted one would.
public protocol BatchSource {
  /// Steps in the whole run.
  var steps: Int { get }
  /// The batch of step `step` (0-based).
  func batch(at step: Int) -> TrainingBatch
}
