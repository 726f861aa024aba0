/// Training errors, one line each (the executables add what to type next).
public enum TrainError: Error, CustomStringConvertible, Equatable {
  case invalid(String)
  case nonFinite(step: Int, loss: Double)
  case interrupted(step: Int)

  public var description: String {
    switch self {
    case .invalid(let message): message
    case .nonFinite(let step, let loss): "loss became \(loss) at step \(step); the run is marked failed (a lower learning rate may help)"
    case .interrupted(let step): "interrupted at step \(step); checkpoint saved, the run can be resumed"
    }
  }
}
