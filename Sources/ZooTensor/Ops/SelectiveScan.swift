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
public enum SelectiveScan {
  /// Fills `out`.
  public static func forward(
    x: UnsafePointer<Float>, delta: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafePointer<Float>, d: UnsafePointer<Float>, batch: Int, length: Int, channels: Int, states: Int,
    out: UnsafeMutablePointer<Float>
  ) {
    let shared = UncheckedSendable((x, delta, a, b, c, d, out))
    parallelFor(batch, threads: threads(batch: batch, length: length, channels: channels, states: states)) { item in
      let (x, delta, a, b, c, d, out) = shared.value
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * length * states)
      defer { scratch.deallocate() }
      for channel in 0..<channels {
        let offset = item * length * channels + channel
        sequence(
          x: x + offset, delta: delta + offset, a: a + channel * states, b: b + item * length * states,
          c: c + item * length * states, skip: d[channel], length: length, channels: channels, states: states,
          h: scratch, decays: scratch + length * states, out: out + offset)
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
    dD: UnsafeMutablePointer<Float>?
  ) {
    // Each batch element's share of ∂A (channels × N) and ∂D (channels).
    let partialCount = channels * states + channels
    let partials = UnsafeMutablePointer<Double>.allocate(capacity: batch * partialCount)
    partials.initialize(repeating: 0, count: batch * partialCount)
    defer { partials.deallocate() }
    let shared = UncheckedSendable((x, delta, a, b, c, d, dOut, dx, dDelta, dB, dC, partials))
    parallelFor(batch, threads: threads(batch: batch, length: length, channels: channels, states: states)) { item in
      let (x, delta, a, b, c, d, dOut, dx, dDelta, dB, dC, partials) = shared.value
      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * length * states + states)
      defer { scratch.deallocate() }
      let h = scratch
      let decays = scratch + length * states
      // exp(Δ_{t+1}A) ⊙ G_{t+1}: what h_t receives from later steps.
      let carry = scratch + 2 * length * states
      let partialA = partials + item * partialCount
      let partialD = partialA + channels * states
      let bItem = b + item * length * states
      let cItem = c + item * length * states
      for channel in 0..<channels {
        let offset = item * length * channels + channel
        let aRow = a + channel * states
        sequence(
          x: x + offset, delta: delta + offset, a: aRow, b: bItem, c: cItem, skip: d[channel], length: length,
          channels: channels, states: states, h: h, decays: decays, out: nil)
        carry.initialize(repeating: 0, count: states)
        for t in stride(from: length - 1, through: 0, by: -1) {
          let index = offset + t * channels
          let (g, step, input) = (dOut[index], delta[index], x[index])
          let (bt, ct) = (bItem + t * states, cItem + t * states)
          let (ht, at) = (h + t * states, decays + t * states)
          var dInput = g * d[channel]
          var dStep: Float = 0
          partialD[channel] += Double(g * input)
          for n in 0..<states {
            // in the forward pass this was: h_t[n] = a_t[n]·h_{t−1}[n] + Δ_t·B_t[n]·x_t; y_t += C_t[n]·h_t[n]
            let dh = carry[n] + g * ct[n]
            let previous: Float = t > 0 ? h[(t - 1) * states + n] : 0
            let dDecay = dh * previous
            dC?[(item * length + t) * states + n] += g * ht[n]
            dB?[(item * length + t) * states + n] += dh * step * input
            dInput += dh * step * bt[n]
            dStep += dDecay * at[n] * aRow[n] + dh * bt[n] * input
            partialA[channel * states + n] += Double(dDecay * at[n] * step)
            carry[n] = at[n] * dh
          }
          dx?[index] += dInput
          dDelta?[index] += dStep
        }
      }
    }
    // Sum the batch elements' shares in order.
    for item in 0..<batch {
      let partial = partials + item * partialCount
      if let dA { for i in 0..<(channels * states) { dA[i] += Float(partial[i]) } }
      if let dD { for i in 0..<channels { dD[i] += Float(partial[channels * states + i]) } }
    }
  }

  /// One channel of one batch element: `x`, `delta` (and `out`) have elements `channels` apart,
  /// `b`, `c` are `[L, N]`, `a` is the channel's row of `A`. Writes `h_t` and `exp(Δ_t A)` as `[L, N]`.
  static func sequence(
    x: UnsafePointer<Float>, delta: UnsafePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafePointer<Float>, skip: Float, length: Int, channels: Int, states: Int, h: UnsafeMutablePointer<Float>,
    decays: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>?
  ) {
    for t in 0..<length {
      let (step, input) = (delta[t * channels], x[t * channels])
      let (bt, ct, ht, at) = (b + t * states, c + t * states, h + t * states, decays + t * states)
      var y: Float = 0
      for n in 0..<states {
        let decay = Foundation.exp(step * a[n])
        let previous: Float = t > 0 ? h[(t - 1) * states + n] : 0
        at[n] = decay
        ht[n] = decay * previous + step * bt[n] * input
        y += ct[n] * ht[n]
      }
      out?[t * channels] = y + skip * input
    }
  }

  /// Threads for the shape: a step costs an exponential per state.
  static func threads(batch: Int, length: Int, channels: Int, states: Int) -> Int {
    Compute.threads(forWork: 8 * batch * length * channels * states)
  }
}

extension Tape {
  /// Mamba's selective scan of `x`, `delta` `[batch, L, channels]` with `a` `[channels, N]` (negative:
  /// the mixer passes `−exp(A_log)`), `b`, `c` `[batch, L, N]` and the skip `d` `[channels]`.
  public func selectiveScan(x: Tensor, delta: Tensor, a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> Tensor {
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
      out: out.value.baseAddress!)
    record {
      SelectiveScan.backward(
        x: x.value.baseAddress!, delta: delta.value.baseAddress!, a: a.value.baseAddress!, b: b.value.baseAddress!,
        c: c.value.baseAddress!, d: d.value.baseAddress!, batch: batch, length: length, channels: channels,
        states: states, dOut: out.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dDelta: delta.requiresGrad ? delta.grad.baseAddress! : nil, dA: a.requiresGrad ? a.grad.baseAddress! : nil,
        dB: b.requiresGrad ? b.grad.baseAddress! : nil, dC: c.requiresGrad ? c.grad.baseAddress! : nil,
        dD: d.requiresGrad ? d.grad.baseAddress! : nil)
    }
    return out
  }
}
