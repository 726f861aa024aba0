import Foundation
import ZooSupport

/// Mamba's selective scan (`selective_scan_ref` without the `z` gate and the Δ softplus, which
/// the mixer applies as separate ops). Per batch element, channel `d` and state `n`:
///
///     h_t[d, n] = exp(Δ_t[d]·A[d, n]) · h_{t−1}[d, n] + Δ_t[d] · B_t[n] · x_t[d]      (h_{−1} = 0)
///     y_t[d]    = Σ_n C_t[n] · h_t[d, n] + D[d] · x_t[d]
///
/// Shapes: `x`, `Δ`, `y` `[batch, L, channels]`; `A` `[channels, N]`; `B`, `C` `[batch, L, N]`;
/// `D` `[channels]`. One batch element is one work item (it loops over channels, so it owns its
/// rows of `dB`, `dC`; its share of `dA`, `dD` is summed over the batch in a fixed order after),
/// so results do not depend on the thread count. Backward recomputes one channel's states
/// (`L × N` values) and runs the reverse-time recurrence; nothing is stored between the passes.
/// `exp` is ``FastMath/exp(_:)-(SIMD8<Float>)`` (relative error below 2e-7).
public enum SelectiveScan {
  /// Eight states at a time: per batch element, `A`, `B`, `C` are copied into rows of
  /// `⌈N/8⌉` vectors, zero-padded. A padded state has `A = B = C = 0`, so it stays 0 and adds
  /// nothing to any output or gradient.
  typealias Lanes = SIMD8<Float>

  /// Fills `out`.
  public static func forward(
    x: UnsafePointer<Float>, delta: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafePointer<Float>, d: UnsafePointer<Float>, batch: Int, length: Int, channels: Int, states: Int,
    out: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let width = (states + 7) / 8
    let shared = UncheckedSendable((x, delta, a, b, c, d, out))
    parallelFor(batch, threads: Self.threads(threads, batch: batch, length: length, channels: channels, states: states)) { item in
      let (x, delta, a, b, c, d, out) = shared.value
      // Padded A [channels, width], B and C [L, width]; states h and decays exp(Δ·A) [L, width].
      let scratch = UnsafeMutablePointer<Lanes>.allocate(capacity: (channels + 4 * length) * width)
      defer { scratch.deallocate() }
      let (aPadded, bPadded, cPadded) = (scratch, scratch + channels * width, scratch + (channels + length) * width)
      let (h, decays) = (scratch + (channels + 2 * length) * width, scratch + (channels + 3 * length) * width)
      pad(a, rows: channels, states: states, into: aPadded)
      pad(b + item * length * states, rows: length, states: states, into: bPadded)
      pad(c + item * length * states, rows: length, states: states, into: cPadded)
      for channel in 0..<channels {
        let offset = item * length * channels + channel
        sequence(
          x: x + offset, delta: delta + offset, a: aPadded + channel * width, b: bPadded, c: cPadded, skip: d[channel],
          length: length, channels: channels, width: width, h: h, decays: decays, out: out + offset)
      }
    }
  }

  /// Adds the gradients of `x`, `Δ`, `A`, `B`, `C`, `D` (each optional).
  ///
  /// With `g_t = ∂L/∂y_t` and `G_t[n] = ∂L/∂h_t[n] = g_t C_t[n] + exp(Δ_{t+1}A[n]) G_{t+1}[n]` (reverse time):
  /// `∂C_t[n] += g_t h_t[n]`, `∂B_t[n] += G_t[n] Δ_t x_t`, `∂x_t += Σ_n G_t[n] Δ_t B_t[n] + g_t D`,
  /// `∂Δ_t += Σ_n G_t[n] (A[n] e^{Δ_t A[n]} h_{t−1}[n] + B_t[n] x_t)`, `∂A[n] += Σ_t G_t[n] Δ_t e^{Δ_t A[n]} h_{t−1}[n]`,
  /// `∂D += Σ_t g_t x_t`.
  public static func backward(
    x: UnsafePointer<Float>, delta: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafePointer<Float>, d: UnsafePointer<Float>, batch: Int, length: Int, channels: Int, states: Int,
    dOut: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dDelta: UnsafeMutablePointer<Float>?,
    dA: UnsafeMutablePointer<Float>?, dB: UnsafeMutablePointer<Float>?, dC: UnsafeMutablePointer<Float>?,
    dD: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    let width = (states + 7) / 8
    // Each batch element's share of ∂A (channels × N) and ∂D (channels).
    let partialCount = channels * states + channels
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: batch * partialCount)
    partials.initialize(repeating: 0, count: batch * partialCount)
    defer { partials.deallocate() }
    let shared = UncheckedSendable((x, delta, a, b, c, d, dOut, dx, dDelta, dB, dC, partials))
    parallelFor(batch, threads: Self.threads(threads, batch: batch, length: length, channels: channels, states: states)) { item in
      let (x, delta, a, b, c, d, dOut, dx, dDelta, dB, dC, partials) = shared.value
      // As forward, plus ∂B, ∂C [L, width], what h_t receives from later steps (exp(Δ_{t+1}A) ⊙ G_{t+1})
      // and one channel's ∂A, [width] each.
      let scratch = UnsafeMutablePointer<Lanes>.allocate(capacity: (channels + 6 * length + 2) * width)
      defer { scratch.deallocate() }
      let (aPadded, bPadded, cPadded) = (scratch, scratch + channels * width, scratch + (channels + length) * width)
      let (h, decays) = (scratch + (channels + 2 * length) * width, scratch + (channels + 3 * length) * width)
      let (dBPadded, dCPadded) = (scratch + (channels + 4 * length) * width, scratch + (channels + 5 * length) * width)
      let (carry, dARow) = (scratch + (channels + 6 * length) * width, scratch + (channels + 6 * length + 1) * width)
      pad(a, rows: channels, states: states, into: aPadded)
      pad(b + item * length * states, rows: length, states: states, into: bPadded)
      pad(c + item * length * states, rows: length, states: states, into: cPadded)
      dBPadded.initialize(repeating: Lanes(), count: 2 * length * width)
      let partialA = partials + item * partialCount
      let partialD = partialA + channels * states
      for channel in 0..<channels {
        let offset = item * length * channels + channel
        let aRow = aPadded + channel * width
        sequence(
          x: x + offset, delta: delta + offset, a: aRow, b: bPadded, c: cPadded, skip: d[channel], length: length,
          channels: channels, width: width, h: h, decays: decays, out: nil)
        carry.initialize(repeating: Lanes(), count: 2 * width)
        for t in stride(from: length - 1, through: 0, by: -1) {
          let index = offset + t * channels
          let (g, step, input) = (dOut[index], delta[index], x[index])
          let (gs, steps, inputs, drive) = (Lanes(repeating: g), Lanes(repeating: step), Lanes(repeating: input), Lanes(repeating: step * input))
          var dInput = Lanes()
          var dStep = Lanes()
          for v in 0..<width {
            // in the forward pass this was: h_t = a_t ⊙ h_{t−1} + Δ_t·x_t·B_t; y_t += C_t · h_t
            let i = t * width + v
            let dh = carry[v] + gs * cPadded[i]
            let previous = t > 0 ? h[i - width] : Lanes()
            let dDecayed = dh * previous * decays[i]  // ∂L/∂(Δ_t·A)
            dCPadded[i] += gs * h[i]
            dBPadded[i] += dh * drive
            dInput += dh * bPadded[i]
            dStep += dDecayed * aRow[v] + dh * bPadded[i] * inputs
            dARow[v] += dDecayed * steps
            carry[v] = decays[i] * dh
          }
          dx?[index] += g * d[channel] + step * dInput.sum()
          dDelta?[index] += dStep.sum()
          partialD[channel] += Double(g) * Double(input)
        }
        for n in 0..<states { partialA[channel * states + n] = Double(dARow[n / 8][n % 8]) }
      }
      if let dB { unpadAdd(dBPadded, rows: length, states: states, into: dB + item * length * states) }
      if let dC { unpadAdd(dCPadded, rows: length, states: states, into: dC + item * length * states) }
    }
    // Sum the batch elements' shares in order.
    for item in 0..<batch {
      let partial = partials + item * partialCount
      if let dA { for i in 0..<(channels * states) { dA[i] += Float(partial[i]) } }
      if let dD { for i in 0..<channels { dD[i] += Float(partial[channels * states + i]) } }
    }
  }

  /// One channel of one batch element: `x`, `delta` (and `out`) have elements `channels` apart;
  /// `a` is the channel's padded row of `A`, `b`, `c` the padded `[L, width]` rows. Writes `h_t`
  /// and `exp(Δ_t A)` as `[L, width]`.
  static func sequence(
    x: UnsafePointer<Float>, delta: UnsafePointer<Float>, a: UnsafePointer<Lanes>, b: UnsafePointer<Lanes>,
    c: UnsafePointer<Lanes>, skip: Float, length: Int, channels: Int, width: Int, h: UnsafeMutablePointer<Lanes>,
    decays: UnsafeMutablePointer<Lanes>, out: UnsafeMutablePointer<Float>?
  ) {
    for t in 0..<length {
      let (step, input) = (delta[t * channels], x[t * channels])
      let (steps, drive) = (Lanes(repeating: step), Lanes(repeating: step * input))
      var y = Lanes()
      for v in 0..<width {
        let i = t * width + v
        let decay = FastMath.exp(steps * a[v])
        let previous = t > 0 ? h[i - width] : Lanes()
        decays[i] = decay
        h[i] = decay * previous + drive * b[i]
        y += c[i] * h[i]
      }
      out?[t * channels] = y.sum() + skip * input
    }
  }

  /// Copies `[rows, states]` into `[rows, ⌈states/8⌉]` vectors, zero-padded.
  static func pad(_ source: UnsafePointer<Float>, rows: Int, states: Int, into padded: UnsafeMutablePointer<Lanes>) {
    let width = (states + 7) / 8
    padded.initialize(repeating: Lanes(), count: rows * width)
    for r in 0..<rows { for n in 0..<states { padded[r * width + n / 8][n % 8] = source[r * states + n] } }
  }

  /// Adds padded `[rows, ⌈states/8⌉]` vectors into `[rows, states]`.
  static func unpadAdd(_ padded: UnsafePointer<Lanes>, rows: Int, states: Int, into target: UnsafeMutablePointer<Float>) {
    let width = (states + 7) / 8
    for r in 0..<rows { for n in 0..<states { target[r * states + n] += padded[r * width + n / 8][n % 8] } }
  }

  /// Threads for the shape: a step costs an exponential per state.
  static func threads(_ available: Int, batch: Int, length: Int, channels: Int, states: Int) -> Int {
    Compute.threads(available, forWork: 8 * batch * length * channels * states)
  }
}

extension Tape {
  /// Mamba's selective scan of `x`, `delta` `[batch, L, channels]` with `a` `[channels, N]` (negative:
  /// the mixer passes `−exp(A_log)`), `b`, `c` `[batch, L, N]` and the skip `d` `[channels]`.
  public func selectiveScan(x: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> Tensor {
    let threads = self.threads
    precondition(x.shape.count == 3 && delta.shape == x.shape, "selective scan: x \(x.shape), delta \(delta.shape)")
    let (batch, length, channels) = (x.shape[0], x.shape[1], x.shape[2])
    let states = a.lastDimension
    precondition(
      a.shape == [channels, states] && b.shape == [batch, length, states] && c.shape == b.shape && d.count == channels,
      "selective scan: x \(x.shape), A \(a.shape), B \(b.shape), C \(c.shape), D \(d.shape)")
    let out = Tensor(uninitialized: x.shape, requiresGrad: true)
    SelectiveScan.forward(
      x: x.value.baseAddress!, delta: delta.value.baseAddress!, a: a.value.baseAddress!, b: b.value.baseAddress!,
      c: c.value.baseAddress!, d: d.value.baseAddress!, batch: batch, length: length, channels: channels, states: states,
      out: out.value.baseAddress!, threads: threads)
    record {
      SelectiveScan.backward(
        x: x.value.baseAddress!, delta: delta.value.baseAddress!, a: a.value.baseAddress!, b: b.value.baseAddress!,
        c: c.value.baseAddress!, d: d.value.baseAddress!, batch: batch, length: length, channels: channels,
        states: states, dOut: out.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dDelta: delta.requiresGrad ? delta.grad.baseAddress! : nil, dA: a.requiresGrad ? a.grad.baseAddress! : nil,
        dB: b.requiresGrad ? b.grad.baseAddress! : nil, dC: c.requiresGrad ? c.grad.baseAddress! : nil,
        dD: d.requiresGrad ? d.grad.baseAddress! : nil, threads: threads)
    }
    return out
  }
}
