import Foundation
import ZooTensor

/// H3 (Zoology's `h3.py`, docs/MODELS.md, "H3"): `q, k, v` projections with bias; `k ← shift(k) + D_k ⊙ k`
/// with a learned shift-SSM filter of `d_state` taps; per head (`d/head_dim` heads) the outer
/// product `kv[h, i, j] = k[h, i]·v[h, j]`, filtered by the head's diagonal (S4D, `d_state/2`
/// complex modes) SSM kernel plus `D_h ⊙ kv`; contracted with `q` over `i`; `output_linear`.
/// Both long convolutions run by FFT. Output channel of `(h, j)` is `j·H + h`, as Zoology's
/// `rearrange('b d h l -> b (d h) l')`.
public final class H3Mixer: SequenceMixer {
  /// H3's options.
  public struct Config: MixerConfig, Equatable {
    public static let name = "h3"
    public static let summary = "shift SSM on k, per-head k⊗v, diagonal S4D SSM by FFT, contracted with q"
    @MixerOption("SSM state size N: shift taps and N/2 complex modes") public var dState = 16
    @MixerOption("channels per head of the key-value outer product (must divide d_model)") public var headDim = 1

    public static func defaults(layer: Int) -> Config { Config() }
    public static func tiny(layer: Int) -> Config { Config(dState: 16, headDim: 2) }

    public func validate(dModel: Int) throws {
      try validatePositive(["d_state": dState])
      try validateHeads(headDim, dModel: dModel, option: "head_dim")
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { H3Mixer(context: context, stateDim: dState, headDim: headDim) }
  }

  let d: Int
  let stateDim: Int
  let qWeight, qBias, kWeight, kBias, vWeight, vBias, outWeight, outBias: NamedParameter
  let shiftB, shiftC, shiftD: NamedParameter
  let logDt, invAReal, aImag, ssmB, ssmC, ssmD: NamedParameter
  /// Per outer-product channel `c = (h·head_dim + i)·head_dim + j`: the column of `k` and `q`
  /// (`h·head_dim + i`), of `v` (`h·head_dim + j`), its head, and its output column.
  let keyColumn, valueColumn, headOf, outputColumn: [Int]

  public init(context: MixerContext, stateDim: Int, headDim: Int) {
    let d = context.dModel
    self.d = d
    self.stateDim = stateDim
    let heads = d / headDim
    let modes = max(stateDim / 2, 1)
    let n = stateDim
    func linear(_ name: String) -> (NamedParameter, NamedParameter) {
      (NamedParameter("\(name).weight", [d, d], std: context.std), NamedParameter("\(name).bias", [d], std: nil))
    }
    (qWeight, qBias) = linear("q_proj")
    (kWeight, kBias) = linear("k_proj")
    (vWeight, vBias) = linear("v_proj")
    (outWeight, outBias) = linear("output_linear")
    // Shift SSM: B = e₁, C as PyTorch's Conv1d init (fan_in = N), D ~ N(0, 1).
    shiftB = NamedParameter("ssm_k_kernel.kernel.B", [d, n], initializer: .custom { _ in
      (0..<(d * n)).map { $0 % n == 0 ? 1 : 0 }
    })
    shiftC = NamedParameter("ssm_k_kernel.kernel.C", [d, n], initializer: .uniform(bound: 1 / Float(n).squareRoot()))
    shiftD = NamedParameter("ssm_k_D", [d], initializer: .normal(std: 1))
    // S4D-Lin: A = −1/2 + iπn, B = 1, C ~ complex N(0, 1), dt ~ exp(U[ln 1e−3, ln 1e−1]).
    logDt = NamedParameter("kernel.kernel.log_dt", [heads], initializer: .custom { rng in
      (0..<heads).map { _ in Float(Foundation.log(1e-3) + rng.nextDouble() * (Foundation.log(1e-1) - Foundation.log(1e-3))) }
    })
    invAReal = NamedParameter("kernel.kernel.inv_A_real", [heads, modes], initializer: .constant(Float(Foundation.log(0.5))))
    aImag = NamedParameter("kernel.kernel.A_imag", [heads, modes], initializer: .custom { _ in
      (0..<(heads * modes)).map { Float(Double.pi * Double($0 % modes)) }
    })
    ssmB = NamedParameter("kernel.kernel.B", [heads, modes, 2], initializer: .custom { _ in
      (0..<(heads * modes * 2)).map { $0 % 2 == 0 ? 1 : 0 }
    })
    ssmC = NamedParameter("kernel.kernel.C", [heads, modes, 2], initializer: .normal(std: Float(0.5.squareRoot())))
    ssmD = NamedParameter("D", [heads], initializer: .normal(std: 1))
    var keyColumn: [Int] = [], valueColumn: [Int] = [], headOf: [Int] = [], outputColumn: [Int] = []
    for h in 0..<heads {
      for i in 0..<headDim {
        for j in 0..<headDim {
          keyColumn.append(h * headDim + i)
          valueColumn.append(h * headDim + j)
          headOf.append(h)
          outputColumn.append(j * heads + h)
        }
      }
    }
    (self.keyColumn, self.valueColumn, self.headOf, self.outputColumn) = (keyColumn, valueColumn, headOf, outputColumn)
  }

  public var parameters: [NamedParameter] {
    [qWeight, qBias, kWeight, kBias, vWeight, vBias, shiftB, shiftC, shiftD, logDt, invAReal, aImag, ssmB, ssmC, ssmD, outWeight, outBias]
  }

  /// The diagonal SSM's state, `d·d_state` (Zoology's `state_size`).
  public func stateSize(length: Int) -> Int { d * stateDim }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let length = x.shape[1]
    let q = tape.linear(x, weight: qWeight.tensor, bias: qBias.tensor)
    var k = tape.linear(x, weight: kWeight.tensor, bias: kBias.tensor)
    let v = tape.linear(x, weight: vWeight.tensor, bias: vBias.tensor)
    let shiftKernel = tape.shiftSSMKernel(b: shiftB.tensor, c: shiftC.tensor, length: length)
    k = tape.add(tape.longConvolution(k, filter: shiftKernel), tape.scaleColumns(k, by: shiftD.tensor))
    let kv = tape.multiply(tape.gatherColumns(k, keyColumn), tape.gatherColumns(v, valueColumn))
    let headKernel = tape.diagonalSSMKernel(
      logDt: logDt.tensor, invAReal: invAReal.tensor, aImag: aImag.tensor, b: ssmB.tensor, c: ssmC.tensor, length: length)
    let kernel = tape.transpose(tape.gatherColumns(tape.transpose(headKernel), headOf))  // [channels, length]
    let filtered = tape.add(tape.longConvolution(kv, filter: kernel), tape.scaleColumns(kv, by: tape.gatherColumns(ssmD.tensor, headOf)))
    let y = tape.scatterAddColumns(tape.multiply(filtered, tape.gatherColumns(q, keyColumn)), outputColumn, width: d)
    return tape.linear(y, weight: outWeight.tensor, bias: outBias.tensor)
  }
}
