/// Records the backward step of every op run in training mode, and runs them in reverse.
///
/// A model is written as its forward pass; each op that may need gradients appends a closure
/// that reads its saved inputs and outputs and adds into its inputs' gradients (llm.c style:
/// every op has a hand-written backward). Without a tape (`nil`), ops only compute forward.
public final class Tape {
  private var steps: [() -> Void] = []
  /// Whether backward steps are kept (false for evaluation: ops then only compute forward).
  public let isRecording: Bool

  /// An empty tape; `recording: false` gives a forward-only one.
  public init(recording: Bool = true) { isRecording = recording }

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
