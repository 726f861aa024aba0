import Foundation
import ZooSupport

extension NamedParameter.Initializer {
  /// mamba_ssm's time-step bias (Mamba, Mamba-2, Gated DeltaNet): `count` draws of
  /// `dt = exp(U[ln 10⁻³, ln 10⁻¹])`, floored at 10⁻⁴, each stored as `softplus⁻¹(dt)` so that
  /// `softplus(bias)` starts at `dt`.
  static func timeStepBias(count: Int) -> Self {
    .custom { rng in
      (0..<count).map { _ in
        let (low, high) = (Foundation.log(1e-3), Foundation.log(1e-1))
        let dt = max(Foundation.exp(low + rng.nextDouble() * (high - low)), 1e-4)
        // softplus⁻¹(dt) = dt + ln(1 − e^{−dt})
        return Float(dt + Foundation.log(-Foundation.expm1(-dt)))
      }
    }
  }
}
