/// Records the backward step of every op run in training mode, and runs them in reverse.
///
/// A model is written as its forward pass; each op that may need gradients appends a closure
/// that reads its saved inputs and outputs and adds into its inputs' gradients (llm.c style:
/// every op has a hand-written backward). Without a tape (`nil`), ops only compute forward.
public final class Tape {
  private var steps: [() -> Void] = []
  /// Whether backward steps are kept (false for evaluation: ops then only compute forward).
  public let isRecording: Bool

  /// Seed of this pass's dropout masks; nil means no dropout (evaluation).
  public let dropoutSeed: UInt64?
  private var dropoutOps: UInt64 = 0

  /// Threads the ops of this pass use, forward and backward (results do not depend on it).
  public let threads: Int

  /// An empty tape; `recording: false` gives a forward-only one. With a `dropoutSeed`, dropout
  /// ops draw their masks from it (one stream per op, in call order), so a pass is reproducible.
  public init(recording: Bool = true, dropoutSeed: UInt64? = nil, threads: Int = Compute.threads) {
    isRecording = recording
    self.dropoutSeed = dropoutSeed
    self.threads = max(1, threads)
  }

  /// Threads worth using for an op of `work` elementwise operations (``Compute/threads(_:forWork:)``).
  public func threads(forWork work: Int) -> Int { Compute.threads(threads, forWork: work) }

  /// The seed for the next dropout op of this pass, or nil when dropout is off.
  public func nextDropoutSeed() -> UInt64? {
    guard let dropoutSeed else { return nil }
    dropoutOps += 1
    return dropoutSeed &+ dropoutOps &* 0xD1B5_4A32_D192_ED03
  }

  /// Appends a backward step (ignored when not recording).
  public func record(_ step: @escaping () -> Void) {
    if isRecording { steps.append(step) }
  }

  /// Number of recorded steps.
  public var count: Int { steps.count }

  /// Runs every recorded step, last first, then forgets them. The loss op seeds its own gradient.
  public func backward() {
    for step in steps.reversed() { step() }
    steps.removeAll()
  }
}
