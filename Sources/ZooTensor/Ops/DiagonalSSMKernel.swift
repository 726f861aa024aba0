import Foundation
import ZooSupport

/// The S4D convolution kernel with bilinear discretization (H3's `SSKernelDiag`, docs/MODELS.md, "H3"):
/// per channel `h` and complex mode `n`, `A = −exp(inv_A_real) + i·A_imag`, `dt = exp(log_dt)`,
/// `dA = (1 + dt·A/2)/(1 − dt·A/2)`, `C̃ = B·C·dt/(1 − dt·A/2)`, and
/// `K[h, l] = 2·Re Σ_n C̃_n · dA_n^l` — the impulse response of the recurrence
/// `x_t = dA ⊙ x_{t−1} + (B·dt/(1 − dt·A/2))·u_t`, `y_t = 2·Re(C·x_t)`.
/// Computed in Double; gradients for all five parameters.
extension Tape {
  /// `logDt` `[H]`; `invAReal`, `aImag` `[H, M]`; `b`, `c` `[H, M, 2]` (real, imaginary).
  /// Returns `[H, length]`.
  public func diagonalSSMKernel(logDt: Tensor, invAReal: Tensor, aImag: Tensor, b: Tensor, c: Tensor, length: Int) -> Tensor {
    let channels = logDt.count
    let modes = invAReal.count / max(channels, 1)
    precondition(invAReal.shape == [channels, modes] && aImag.shape == [channels, modes], "S4D kernel: A shapes")
    precondition(b.shape == [channels, modes, 2] && c.shape == [channels, modes, 2], "S4D kernel: B, C shapes")
    let k = Tensor(zeros: [channels, length], requiresGrad: true)
    let threads = threads(forWork: channels * modes * length)
    let out = UncheckedSendable(k.value.baseAddress!)
    parallelFor(channels, threads: threads) { h in
      for n in 0..<modes {
        let mode = DiagonalMode(h: h, n: n, modes: modes, logDt: logDt, invAReal: invAReal, aImag: aImag, b: b, c: c)
        var power = Complex(1, 0)
        for l in 0..<length {
          out.value[h * length + l] += Float(2 * (mode.cTilde * power).re)
          power = power * mode.dA
        }
      }
    }
    record {
      let grads = UncheckedSendable((
        logDt: logDt.grad.baseAddress!, invAReal: invAReal.grad.baseAddress!, aImag: aImag.grad.baseAddress!,
        b: b.grad.baseAddress!, c: c.grad.baseAddress!))
      parallelFor(channels, threads: threads) { h in
        var dDt = 0.0
        for n in 0..<modes {
          let mode = DiagonalMode(h: h, n: n, modes: modes, logDt: logDt, invAReal: invAReal, aImag: aImag, b: b, c: c)
          // s1 = Σ_l g_l conj(dA^l), s2 = Σ_{l≥1} g_l · l · conj(dA^{l−1}).
          var s1 = Complex(0, 0)
          var s2 = Complex(0, 0)
          var previous = Complex(0, 0)
          var power = Complex(1, 0)
          for l in 0..<length {
            let g = Double(k.grad[h * length + l])
            s1 = s1 + power.conjugate.scaled(g)
            if l > 0 { s2 = s2 + previous.conjugate.scaled(g * Double(l)) }
            previous = power
            power = power * mode.dA
          }
          // Gradients as complex numbers (∂/∂re + i·∂/∂im), chained through holomorphic maps by conj(f′).
          let gCTilde = s1.scaled(2)
          let gDA = (mode.cTilde.conjugate * s2).scaled(2)
          let inverseDen = Complex(1, 0) / mode.den
          let gB = (mode.c * inverseDen).scaled(mode.dt).conjugate * gCTilde
          let gC = (mode.b * inverseDen).scaled(mode.dt).conjugate * gCTilde
          let inverseDen2 = inverseDen * inverseDen
          let gA = (inverseDen2.conjugate * gDA + (mode.b * mode.c * inverseDen2).scaled(mode.dt / 2).conjugate * gCTilde)
          // a = dt·A: A receives dt·g_a; dt receives Re(conj(A)·g_a) plus its direct share in C̃.
          dDt += (mode.a.conjugate * gA).re + ((mode.b * mode.c * inverseDen).conjugate * gCTilde).re
          let gAOfA = gA.scaled(mode.dt)
          let i = h * modes + n
          if invAReal.requiresGrad { grads.value.invAReal[i] += Float(gAOfA.re * mode.aRealPart) }
          if aImag.requiresGrad { grads.value.aImag[i] += Float(gAOfA.im) }
          if b.requiresGrad { grads.value.b[2 * i] += Float(gB.re); grads.value.b[2 * i + 1] += Float(gB.im) }
          if c.requiresGrad { grads.value.c[2 * i] += Float(gC.re); grads.value.c[2 * i + 1] += Float(gC.im) }
        }
        if logDt.requiresGrad { grads.value.logDt[h] += Float(dDt * exp(Double(logDt.value[h]))) }
      }
    }
    return k
  }
}

/// One mode's discretized quantities.
private struct DiagonalMode {
  let dt: Double
  /// Re(A) = −exp(inv_A_real).
  let aRealPart: Double
  let a: Complex
  let b: Complex
  let c: Complex
  /// 1 − dt·A/2.
  let den: Complex
  let dA: Complex
  let cTilde: Complex

  init(h: Int, n: Int, modes: Int, logDt: Tensor, invAReal: Tensor, aImag: Tensor, b: Tensor, c: Tensor) {
    let i = h * modes + n
    dt = exp(Double(logDt.value[h]))
    aRealPart = -exp(Double(invAReal.value[i]))
    a = Complex(aRealPart, Double(aImag.value[i]))
    self.b = Complex(Double(b.value[2 * i]), Double(b.value[2 * i + 1]))
    self.c = Complex(Double(c.value[2 * i]), Double(c.value[2 * i + 1]))
    let half = a.scaled(dt / 2)
    den = Complex(1 - half.re, -half.im)
    dA = Complex(1 + half.re, half.im) / den
    cTilde = (self.b * self.c).scaled(dt) / den
  }
}

/// A complex number in Double (only what the kernel needs).
struct Complex {
  var re: Double
  var im: Double
  init(_ re: Double, _ im: Double) { self.re = re; self.im = im }
  var conjugate: Complex { Complex(re, -im) }
  func scaled(_ s: Double) -> Complex { Complex(re * s, im * s) }
  static func + (x: Complex, y: Complex) -> Complex { Complex(x.re + y.re, x.im + y.im) }
  static func * (x: Complex, y: Complex) -> Complex { Complex(x.re * y.re - x.im * y.im, x.re * y.im + x.im * y.re) }
  static func / (x: Complex, y: Complex) -> Complex {
    let d = y.re * y.re + y.im * y.im
    return Complex((x.re * y.re + x.im * y.im) / d, (x.im * y.re - x.re * y.im) / d)
  }
}
