/// Central finite differences against a hand-written backward.
///
/// `loss` runs the forward pass (on the current values) and returns a scalar in Double;
/// `gradients` runs forward and backward once and returns the analytic gradient of each input.
/// Every element (or a sample of `maxPerTensor`) of every input is nudged by ±`step`, and the
/// numeric slope is compared with the analytic one: they agree when
/// `|a − n| ≤ absolute + relative · max(|a|, |n|)`.
public enum GradientCheck {
  /// One disagreement.
  public struct Mismatch: CustomStringConvertible, Sendable {
    public var tensor: Int
    public var index: Int
    public var analytic: Double
    public var numeric: Double
    public var description: String { "input \(tensor)[\(index)]: analytic \(analytic), numeric \(numeric)" }
  }

  /// Compares analytic and numeric gradients of `inputs`; returns the mismatches (empty = pass).
  public static func check(
    inputs: [Tensor], step: Float = 1e-2, absolute: Double = 1e-3, relative: Double = 1e-2, maxPerTensor: Int = 64,
    loss: () -> Double, gradients: () -> [[Float]]
  ) -> [Mismatch] {
    let analytic = gradients()
    var mismatches: [Mismatch] = []
    for (t, tensor) in inputs.enumerated() {
      let stride = max(1, tensor.count / maxPerTensor)
      for i in Swift.stride(from: 0, to: tensor.count, by: stride) {
        let original = tensor.value[i]
        tensor.value[i] = original + step
        let plus = loss()
        tensor.value[i] = original - step
        let minus = loss()
        tensor.value[i] = original
        // Divide by the step actually taken in Float.
        let numeric = (plus - minus) / (Double(original + step) - Double(original - step))
        let a = Double(analytic[t][i])
        if abs(a - numeric) > absolute + relative * max(abs(a), abs(numeric)) {
          mismatches.append(Mismatch(tensor: t, index: i, analytic: a, numeric: numeric))
        }
      }
    }
    return mismatches
  }
}
