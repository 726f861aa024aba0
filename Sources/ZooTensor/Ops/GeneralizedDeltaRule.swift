import Foundation
import ZooSupport

/// The generalized delta rule of RWKV-7 (flash-linear-attention's diagonal-plus-low-rank
/// `dplr_delta_rule`; docs/MODELS.md, "RWKV-7"). Per head, with the state `S` a `K × V` matrix
/// (fla's orientation; the paper's is its transpose) and `w_t = exp(g_t)` the decay of log `g_t`:
///
///     S_t = (diag(w_t) + b_t a_tᵀ) S_{t−1} + k_t v_tᵀ      (S_{−1} = 0)
///     o_t = S_tᵀ q_t
///
/// RWKV-7 passes `a = −κ̂`, `b = κ̂ ⊙ a_icl`, `q = r`, no scale. Two views, equal up to rounding:
///
/// - ``Form/recurrent``: the token-by-token recurrence. Forward saves `S` every 16 steps; backward
///   recomputes 16 states from each saved one and runs the reverse-time recurrence. With
///   `G = ∂L/∂S_t` (what later steps send back plus `q_t do_tᵀ`) and `u_t = S_{t−1}ᵀ a_t`:
///   `dq_t = S_t do_t`, `dk_t = G v_t`, `dv_t = Gᵀ k_t`, `db_t = G u_t`, `du_t = Gᵀ b_t`,
///   `da_t = S_{t−1} du_t`, `dg_t = w_t ⊙ rowsum(G ⊙ S_{t−1})`, and `∂L/∂S_{t−1} = diag(w_t) G + a_t du_tᵀ`.
/// - ``Form/chunked(_:)``: the chunk-parallel (WY/UT) form for training, as fla's `dplr_chunkwise`.
///   In a chunk of `c` steps from `S_0`, with `γ_t = Σ_{s≤t} g_s` (in the chunk), rows
///   `q̂ = q ⊙ e^γ`, `â_t = a_t ⊙ e^{γ_t − g_t}`, `k̂ = k ⊙ e^{−γ}`, `b̂ = b ⊙ e^{−γ}`,
///   `k̄ = k ⊙ e^{γ_c − γ}`, `b̄ = b ⊙ e^{γ_c − γ}` and the `c × c` matrices `A_qk = q̂ k̂ᵀ`, `A_qb = q̂ b̂ᵀ`
///   (lower triangle with the diagonal), `A_ak = â k̂ᵀ`, `A_ab = â b̂ᵀ` (strictly lower):
///
///       U   = (I − A_ab)⁻¹ (â S_0 + A_ak V)      the rows u_t = S_{t−1}ᵀ a_t, by forward substitution
///       O   = q̂ S_0 + A_qk V + A_qb U
///       S_c = diag(e^{γ_c}) S_0 + k̄ᵀ V + b̄ᵀ U
///
///   Forward saves every chunk's `S_0`. Backward goes through the chunks last first, carrying
///   `dS = ∂L/∂S_c` back: with `R = â S_0 + A_ak V`, `dR = (I − A_ab)⁻ᵀ dU` (backward substitution)
///   and `dA_ab = dR Uᵀ` (from `d(M⁻¹) = −M⁻¹ dM M⁻¹`); the products give `dq̂, dâ, dk̂, db̂, dk̄, db̄`,
///   `dS_0 = q̂ᵀ dO + âᵀ dR + diag(e^{γ_c}) dS`; each `x̂ = x ⊙ e^{±γ}` sends `±x̂ ⊙ dx̂` to `dγ`, and
///   `dg_s = Σ_{t≥s} dγ_t − â_s ⊙ dâ_s` (`â_t = a_t e^{γ_{t−1}}`). The factors `e^{±γ}` are formed
///   separately, so a chunk's decays must keep `|γ_c| < 80` (RWKV-7's `g ≥ −e^{−0.5}` allows chunks of
///   up to 128).
///
/// Shapes: `q`, `logDecay` (`g`), `k`, `v`, `a`, `b`, `out` `[batch, length, heads · headDim]`
/// (`K = V = headDim`). One (batch, head) pair is one work item, so results do not depend on the
/// thread count. The kernels are generic: Zoo runs them in Float, the tests also in Double.
public enum GeneralizedDeltaRule {
  /// Which view computes the op.
  public enum Form: Equatable, Sendable {
    /// Token by token.
    case recurrent
    /// In chunks of this many steps (the last may be shorter).
    case chunked(Int)
  }

  /// Steps between the states the recurrent form saves.
  static let checkpointInterval = 16

  /// Steps per saved state.
  static func block(_ form: Form) -> Int {
    switch form {
    case .recurrent: checkpointInterval
    case .chunked(let size): size
    }
  }

  /// Values forward saves for backward: one `headDim × headDim` state per block of steps and item.
  public static func savedCount(form: Form, batch: Int, length: Int, heads: Int, headDim: Int) -> Int {
    let size = block(form)
    return batch * heads * ((length + size - 1) / size) * headDim * headDim
  }

  /// Fills `out` and `saved` (``savedCount(form:batch:length:heads:headDim:)`` values).
  public static func forward<T: BinaryFloatingPoint>(
    form: Form, q: UnsafePointer<T>, logDecay: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>,
    a: UnsafePointer<T>, b: UnsafePointer<T>, batch: Int, length: Int, heads: Int, headDim: Int,
    out: UnsafeMutablePointer<T>, saved: UnsafeMutablePointer<T>, threads: Int
  ) {
    if case .chunked(let size) = form { precondition(size >= 1, "chunk size \(size)") }
    let inputs = Inputs(q: q, g: logDecay, k: k, v: v, a: a, b: b, length: length, heads: heads, n: headDim)
    let perItem = savedCount(form: form, batch: 1, length: length, heads: 1, headDim: headDim)
    let shared = UncheckedSendable((inputs, out, saved))
    parallelFor(batch * heads, threads: Self.threads(threads, batch: batch, length: length, heads: heads, headDim: headDim)) { item in
      let (inputs, out, saved) = shared.value
      let offset = (item / heads) * length * heads * headDim + (item % heads) * headDim
      switch form {
      case .recurrent: recurrentForward(inputs, offset: offset, out: out, saved: saved + item * perItem)
      case .chunked(let size): chunkedForward(inputs, offset: offset, chunk: size, out: out, saved: saved + item * perItem)
      }
    }
  }

  /// Adds the gradients of `q`, `logDecay`, `k`, `v`, `a`, `b` (each optional), given `dOut` and
  /// what ``forward(form:q:logDecay:k:v:a:b:batch:length:heads:headDim:out:saved:threads:)`` saved.
  public static func backward<T: BinaryFloatingPoint>(
    form: Form, q: UnsafePointer<T>, logDecay: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>,
    a: UnsafePointer<T>, b: UnsafePointer<T>, batch: Int, length: Int, heads: Int, headDim: Int,
    saved: UnsafePointer<T>, dOut: UnsafePointer<T>, dq: UnsafeMutablePointer<T>?, dLogDecay: UnsafeMutablePointer<T>?,
    dk: UnsafeMutablePointer<T>?, dv: UnsafeMutablePointer<T>?, da: UnsafeMutablePointer<T>?, db: UnsafeMutablePointer<T>?,
    threads: Int
  ) {
    let inputs = Inputs(q: q, g: logDecay, k: k, v: v, a: a, b: b, length: length, heads: heads, n: headDim)
    let grads = Gradients(q: dq, g: dLogDecay, k: dk, v: dv, a: da, b: db)
    let perItem = savedCount(form: form, batch: 1, length: length, heads: 1, headDim: headDim)
    let shared = UncheckedSendable((inputs, grads, saved, dOut))
    parallelFor(batch * heads, threads: Self.threads(threads, batch: batch, length: length, heads: heads, headDim: headDim)) { item in
      let (inputs, grads, saved, dOut) = shared.value
      let offset = (item / heads) * length * heads * headDim + (item % heads) * headDim
      switch form {
      case .recurrent: recurrentBackward(inputs, offset: offset, saved: saved + item * perItem, dOut: dOut, grads: grads)
      case .chunked(let size): chunkedBackward(inputs, offset: offset, chunk: size, saved: saved + item * perItem, dOut: dOut, grads: grads)
      }
    }
  }

  /// The six inputs; element `i` of step `t` of an item is at `offset + t·width + i`.
  struct Inputs<T: BinaryFloatingPoint> {
    let q, g, k, v, a, b: UnsafePointer<T>
    let length, heads, n: Int
    var width: Int { heads * n }
  }

  /// Where the gradients go (nil: not wanted).
  struct Gradients<T: BinaryFloatingPoint> {
    let q, g, k, v, a, b: UnsafeMutablePointer<T>?
  }

  @inline(__always)
  static func exp<T: BinaryFloatingPoint>(_ x: T) -> T { T(Foundation.exp(Double(x))) }

  // MARK: Recurrent form

  /// One step: `u = Sᵀ a_t`, then `S ← diag(w_t) S + b_t uᵀ + k_t v_tᵀ` in place.
  @inline(__always)
  static func step<T: BinaryFloatingPoint>(_ x: Inputs<T>, row: Int, state s: UnsafeMutablePointer<T>, u: UnsafeMutablePointer<T>) {
    let (n, v) = (x.n, x.v + row)
    for j in 0..<n { u[j] = 0 }
    for i in 0..<n {
      let (ai, si) = (x.a[row + i], s + i * n)
      for j in 0..<n { u[j] += ai * si[j] }
    }
    for i in 0..<n {
      let (wi, bi, ki, si) = (exp(x.g[row + i]), x.b[row + i], x.k[row + i], s + i * n)
      for j in 0..<n { si[j] = wi * si[j] + bi * u[j] + ki * v[j] }
    }
  }

  static func recurrentForward<T: BinaryFloatingPoint>(
    _ x: Inputs<T>, offset: Int, out: UnsafeMutablePointer<T>, saved: UnsafeMutablePointer<T>
  ) {
    let n = x.n
    let scratch = UnsafeMutablePointer<T>.allocate(capacity: n * n + n)
    defer { scratch.deallocate() }
    let (s, u) = (scratch, scratch + n * n)
    s.initialize(repeating: 0, count: n * n)
    for t in 0..<x.length {
      if t % checkpointInterval == 0 { (saved + (t / checkpointInterval) * n * n).update(from: s, count: n * n) }
      let row = offset + t * x.width
      step(x, row: row, state: s, u: u)
      let o = out + row
      for j in 0..<n { o[j] = 0 }
      for i in 0..<n {
        let (qi, si) = (x.q[row + i], s + i * n)
        for j in 0..<n { o[j] += qi * si[j] }
      }
    }
  }

  static func recurrentBackward<T: BinaryFloatingPoint>(
    _ x: Inputs<T>, offset: Int, saved: UnsafePointer<T>, dOut: UnsafePointer<T>, grads: Gradients<T>
  ) {
    let (n, p) = (x.n, checkpointInterval)
    // The block's states S_{t0−1} … S_{t0+p−1} and u's, the carried ∂L/∂S, ∂L/∂u.
    let scratch = UnsafeMutablePointer<T>.allocate(capacity: (p + 2) * n * n + (p + 1) * n)
    defer { scratch.deallocate() }
    let (states, dS) = (scratch, scratch + (p + 1) * n * n)
    let (us, du) = (scratch + (p + 2) * n * n, scratch + (p + 2) * n * n + p * n)
    dS.initialize(repeating: 0, count: n * n)
    let blocks = (x.length + p - 1) / p
    for blockIndex in stride(from: blocks - 1, through: 0, by: -1) {
      let t0 = blockIndex * p
      let steps = min(p, x.length - t0)
      states.update(from: saved + blockIndex * n * n, count: n * n)
      for tau in 0..<steps {
        (states + (tau + 1) * n * n).update(from: states + tau * n * n, count: n * n)
        step(x, row: offset + (t0 + tau) * x.width, state: states + (tau + 1) * n * n, u: us + tau * n)
      }
      for tau in stride(from: steps - 1, through: 0, by: -1) {
        let row = offset + (t0 + tau) * x.width
        let (previous, current, u) = (states + tau * n * n, states + (tau + 1) * n * n, us + tau * n)
        // in the forward pass this was: S_t = diag(w) S_{t−1} + b uᵀ + k vᵀ, o = S_tᵀ q
        // G = dS + q doᵀ (in place), dq = S_t do
        for i in 0..<n {
          let qi = x.q[row + i]
          var dqi = T.zero
          for j in 0..<n {
            dS[i * n + j] += qi * dOut[row + j]
            dqi += current[i * n + j] * dOut[row + j]
          }
          grads.q?[row + i] += dqi
        }
        for j in 0..<n { du[j] = 0 }
        for i in 0..<n {
          let (bi, ki, wi) = (x.b[row + i], x.k[row + i], exp(x.g[row + i]))
          var (dki, dbi, dwi) = (T.zero, T.zero, T.zero)
          for j in 0..<n {
            let gij = dS[i * n + j]
            dki += gij * x.v[row + j]
            dbi += gij * u[j]
            dwi += gij * previous[i * n + j]
            du[j] += gij * bi
          }
          grads.k?[row + i] += dki
          grads.b?[row + i] += dbi
          grads.g?[row + i] += wi * dwi
          if let dv = grads.v { for j in 0..<n { dv[row + j] += dS[i * n + j] * ki } }
        }
        for i in 0..<n {
          let (ai, wi) = (x.a[row + i], exp(x.g[row + i]))
          var dai = T.zero
          for j in 0..<n {
            dai += previous[i * n + j] * du[j]
            dS[i * n + j] = wi * dS[i * n + j] + ai * du[j]
          }
          grads.a?[row + i] += dai
        }
      }
    }
  }

  // MARK: Chunked form

  /// One chunk's rows in contiguous `c × n` (and `c × c`) buffers.
  struct Chunk<T: BinaryFloatingPoint> {
    let base: UnsafeMutablePointer<T>
    let size, n: Int
    /// Buffers of `size × n`, by index.
    func rows(_ index: Int) -> UnsafeMutablePointer<T> { base + index * size * n }
    var q: UnsafeMutablePointer<T> { rows(0) }
    var g: UnsafeMutablePointer<T> { rows(1) }
    var k: UnsafeMutablePointer<T> { rows(2) }
    var v: UnsafeMutablePointer<T> { rows(3) }
    var a: UnsafeMutablePointer<T> { rows(4) }
    var b: UnsafeMutablePointer<T> { rows(5) }
    var gamma: UnsafeMutablePointer<T> { rows(6) }
    var qHat: UnsafeMutablePointer<T> { rows(7) }
    var aHat: UnsafeMutablePointer<T> { rows(8) }
    var kHat: UnsafeMutablePointer<T> { rows(9) }
    var bHat: UnsafeMutablePointer<T> { rows(10) }
    var kBar: UnsafeMutablePointer<T> { rows(11) }
    var bBar: UnsafeMutablePointer<T> { rows(12) }
    var u: UnsafeMutablePointer<T> { rows(13) }
    /// The factors `e^γ`, `e^{−γ}`, `e^{γ_c − γ}` and `e^{γ_{t−1}}` (1 on the first row).
    var down: UnsafeMutablePointer<T> { rows(14) }
    var up: UnsafeMutablePointer<T> { rows(15) }
    var toEnd: UnsafeMutablePointer<T> { rows(16) }
    var before: UnsafeMutablePointer<T> { rows(17) }
    static var rowBuffers: Int { 18 }
    /// `A_qk`, `A_qb`, `A_ak`, `A_ab`, `size × size` each.
    func matrix(_ index: Int) -> UnsafeMutablePointer<T> { base + Self.rowBuffers * size * n + index * size * size }
    static func capacity(size: Int, n: Int) -> Int { rowBuffers * size * n + 4 * size * size }
  }

  /// Loads the `c` steps from `t0` and computes everything forward needs except `S_c`: the
  /// scaled rows, the four matrices and `U` (from the chunk's `S_0`, `state`).
  static func prepare<T: BinaryFloatingPoint>(
    _ x: Inputs<T>, offset: Int, t0: Int, c: Int, chunk m: Chunk<T>, state: UnsafePointer<T>
  ) {
    let (n, size) = (x.n, m.size)
    for t in 0..<c {
      let row = offset + (t0 + t) * x.width
      (m.q + t * n).update(from: x.q + row, count: n)
      (m.g + t * n).update(from: x.g + row, count: n)
      (m.k + t * n).update(from: x.k + row, count: n)
      (m.v + t * n).update(from: x.v + row, count: n)
      (m.a + t * n).update(from: x.a + row, count: n)
      (m.b + t * n).update(from: x.b + row, count: n)
    }
    for i in 0..<n {
      var total = T.zero
      for t in 0..<c {
        total += m.g[t * n + i]
        m.gamma[t * n + i] = total
      }
      precondition(Double(total) > -80, "generalized delta rule: a chunk's decays reach e^\(Double(total)); use smaller chunks")
    }
    let (gamma, down, up, toEnd, before) = (m.gamma, m.down, m.up, m.toEnd, m.before)
    let count = c * n
    for e in 0..<count {
      down[e] = exp(gamma[e])
      up[e] = exp(-gamma[e])
    }
    let endFactor = down + (c - 1) * n
    for t in 0..<c {
      let (target, source) = (toEnd + t * n, up + t * n)
      for i in 0..<n { target[i] = endFactor[i] * source[i] }
    }
    before.initialize(repeating: 1, count: n)
    (before + n).update(from: down, count: count - n)
    // One loop a product, each over contiguous rows.
    func scaled(_ x: UnsafeMutablePointer<T>, _ factor: UnsafeMutablePointer<T>, into y: UnsafeMutablePointer<T>) {
      for e in 0..<count { y[e] = x[e] * factor[e] }
    }
    scaled(m.q, down, into: m.qHat)
    scaled(m.a, before, into: m.aHat)
    scaled(m.k, up, into: m.kHat)
    scaled(m.b, up, into: m.bHat)
    scaled(m.k, toEnd, into: m.kBar)
    scaled(m.b, toEnd, into: m.bBar)
    let (aqk, aqb, aak, aab) = (m.matrix(0), m.matrix(1), m.matrix(2), m.matrix(3))
    for (left, right, matrix, strict) in [(m.qHat, m.kHat, aqk, false), (m.qHat, m.bHat, aqb, false), (m.aHat, m.kHat, aak, true), (m.aHat, m.bHat, aab, true)] {
      multiply(false, true, m: c, n: c, k: n, left, n, right, n, matrix, size, accumulate: false)
      mask(matrix, c: c, ld: size, strict: strict)
    }
    // U = (I − A_ab)⁻¹ (â S_0 + A_ak V)
    multiply(false, false, m: c, n: n, k: n, m.aHat, n, state, n, m.u, n, accumulate: false)
    multiply(false, false, m: c, n: n, k: c, aak, size, m.v, n, m.u, n, accumulate: true)
    for t in 1..<max(c, 1) {
      let target = m.u + t * n
      for s in 0..<t {
        let (f, source) = (aab[t * size + s], m.u + s * n)
        for j in 0..<n { target[j] += f * source[j] }
      }
    }
  }

  static func chunkedForward<T: BinaryFloatingPoint>(
    _ x: Inputs<T>, offset: Int, chunk size: Int, out: UnsafeMutablePointer<T>, saved: UnsafeMutablePointer<T>
  ) {
    let n = x.n
    let capacity = Chunk<T>.capacity(size: size, n: n)
    let scratch = UnsafeMutablePointer<T>.allocate(capacity: capacity + n * n + size * n)
    defer { scratch.deallocate() }
    let m = Chunk(base: scratch, size: size, n: n)
    let (s, o) = (scratch + capacity, scratch + capacity + n * n)
    s.initialize(repeating: 0, count: n * n)
    for (index, t0) in stride(from: 0, to: x.length, by: size).enumerated() {
      let c = min(size, x.length - t0)
      (saved + index * n * n).update(from: s, count: n * n)
      prepare(x, offset: offset, t0: t0, c: c, chunk: m, state: s)
      // O = q̂ S_0 + A_qk V + A_qb U
      multiply(false, false, m: c, n: n, k: n, m.qHat, n, s, n, o, n, accumulate: false)
      multiply(false, false, m: c, n: n, k: c, m.matrix(0), size, m.v, n, o, n, accumulate: true)
      multiply(false, false, m: c, n: n, k: c, m.matrix(1), size, m.u, n, o, n, accumulate: true)
      for t in 0..<c { (out + offset + (t0 + t) * x.width).update(from: o + t * n, count: n) }
      // S_c = diag(e^{γ_c}) S_0 + k̄ᵀ V + b̄ᵀ U
      for i in 0..<n {
        let e = m.down[(c - 1) * n + i]
        for j in 0..<n { s[i * n + j] *= e }
      }
      multiply(true, false, m: n, n: n, k: c, m.kBar, n, m.v, n, s, n, accumulate: true)
      multiply(true, false, m: n, n: n, k: c, m.bBar, n, m.u, n, s, n, accumulate: true)
    }
  }

  static func chunkedBackward<T: BinaryFloatingPoint>(
    _ x: Inputs<T>, offset: Int, chunk size: Int, saved: UnsafePointer<T>, dOut: UnsafePointer<T>, grads: Gradients<T>
  ) {
    let n = x.n
    let capacity = Chunk<T>.capacity(size: size, n: n)
    // The forward chunk, then its gradients: rows dO, dq̂, dâ, dk̂, db̂, dk̄, db̄, dV, dU, dR, dγ;
    // matrices dA_qk, dA_qb, dA_ak, dA_ab; states dS (carried) and dS_0; the row dγ_c.
    let rowGrads = 11
    let total = capacity + rowGrads * size * n + 4 * size * size + 2 * n * n + n
    let scratch = UnsafeMutablePointer<T>.allocate(capacity: total)
    defer { scratch.deallocate() }
    let m = Chunk(base: scratch, size: size, n: n)
    let row = { (index: Int) in scratch + capacity + index * size * n }
    let (dO, dqHat, daHat, dkHat, dbHat, dkBar, dbBar, dV, dU, dR, dGamma) = (
      row(0), row(1), row(2), row(3), row(4), row(5), row(6), row(7), row(8), row(9), row(10)
    )
    let matrixBase = scratch + capacity + rowGrads * size * n
    let (dAqk, dAqb, dAak, dAab) = (matrixBase, matrixBase + size * size, matrixBase + 2 * size * size, matrixBase + 3 * size * size)
    let dS = matrixBase + 4 * size * size
    let (dS0, dGammaLast) = (dS + n * n, dS + 2 * n * n)
    dS.initialize(repeating: 0, count: n * n)
    let chunks = (x.length + size - 1) / size
    for index in stride(from: chunks - 1, through: 0, by: -1) {
      let t0 = index * size
      let c = min(size, x.length - t0)
      let s0 = saved + index * n * n
      prepare(x, offset: offset, t0: t0, c: c, chunk: m, state: s0)
      let (aqk, aqb, aak, aab) = (m.matrix(0), m.matrix(1), m.matrix(2), m.matrix(3))
      for t in 0..<c { (dO + t * n).update(from: dOut + offset + (t0 + t) * x.width, count: n) }
      // in the forward pass this was: O = q̂ S_0 + A_qk V + A_qb U
      multiply(false, true, m: c, n: c, k: n, dO, n, m.v, n, dAqk, size, accumulate: false)
      mask(dAqk, c: c, ld: size, strict: false)
      multiply(false, true, m: c, n: c, k: n, dO, n, m.u, n, dAqb, size, accumulate: false)
      mask(dAqb, c: c, ld: size, strict: false)
      multiply(false, true, m: c, n: n, k: n, dO, n, s0, n, dqHat, n, accumulate: false)
      multiply(true, false, m: n, n: n, k: c, m.qHat, n, dO, n, dS0, n, accumulate: false)
      multiply(true, false, m: c, n: n, k: c, aqk, size, dO, n, dV, n, accumulate: false)
      multiply(true, false, m: c, n: n, k: c, aqb, size, dO, n, dU, n, accumulate: false)
      // in the forward pass this was: S_c = diag(e^{γ_c}) S_0 + k̄ᵀ V + b̄ᵀ U
      for i in 0..<n {
        let e = m.down[(c - 1) * n + i]
        var slope = T.zero
        for j in 0..<n {
          dS0[i * n + j] += e * dS[i * n + j]
          slope += s0[i * n + j] * dS[i * n + j]
        }
        dGammaLast[i] = e * slope
      }
      multiply(false, true, m: c, n: n, k: n, m.v, n, dS, n, dkBar, n, accumulate: false)
      multiply(false, true, m: c, n: n, k: n, m.u, n, dS, n, dbBar, n, accumulate: false)
      multiply(false, false, m: c, n: n, k: n, m.kBar, n, dS, n, dV, n, accumulate: true)
      multiply(false, false, m: c, n: n, k: n, m.bBar, n, dS, n, dU, n, accumulate: true)
      // in the forward pass this was: U = (I − A_ab)⁻¹ R, R = â S_0 + A_ak V
      // so now we have: dR = (I − A_ab)⁻ᵀ dU, dA_ab = dR Uᵀ
      dR.update(from: dU, count: c * n)
      for s in stride(from: c - 2, through: 0, by: -1) {
        let target = dR + s * n
        for t in (s + 1)..<c {
          let (f, source) = (aab[t * size + s], dR + t * n)
          for j in 0..<n { target[j] += f * source[j] }
        }
      }
      multiply(false, true, m: c, n: c, k: n, dR, n, m.u, n, dAab, size, accumulate: false)
      mask(dAab, c: c, ld: size, strict: true)
      multiply(false, true, m: c, n: n, k: n, dR, n, s0, n, daHat, n, accumulate: false)
      multiply(true, false, m: n, n: n, k: c, m.aHat, n, dR, n, dS0, n, accumulate: true)
      multiply(false, true, m: c, n: c, k: n, dR, n, m.v, n, dAak, size, accumulate: false)
      mask(dAak, c: c, ld: size, strict: true)
      multiply(true, false, m: c, n: n, k: c, aak, size, dR, n, dV, n, accumulate: true)
      // in the forward pass this was: A_qk = q̂ k̂ᵀ, A_qb = q̂ b̂ᵀ, A_ak = â k̂ᵀ, A_ab = â b̂ᵀ (masked)
      multiply(false, false, m: c, n: n, k: c, dAqk, size, m.kHat, n, dqHat, n, accumulate: true)
      multiply(false, false, m: c, n: n, k: c, dAqb, size, m.bHat, n, dqHat, n, accumulate: true)
      multiply(false, false, m: c, n: n, k: c, dAak, size, m.kHat, n, daHat, n, accumulate: true)
      multiply(false, false, m: c, n: n, k: c, dAab, size, m.bHat, n, daHat, n, accumulate: true)
      multiply(true, false, m: c, n: n, k: c, dAqk, size, m.qHat, n, dkHat, n, accumulate: false)
      multiply(true, false, m: c, n: n, k: c, dAak, size, m.aHat, n, dkHat, n, accumulate: true)
      multiply(true, false, m: c, n: n, k: c, dAqb, size, m.qHat, n, dbHat, n, accumulate: false)
      multiply(true, false, m: c, n: n, k: c, dAab, size, m.aHat, n, dbHat, n, accumulate: true)
      // in the forward pass this was: q̂ = q e^γ, â = a e^{γ_{t−1}}, k̂ = k e^{−γ}, k̄ = k e^{γ_c−γ} (b̂, b̄ as k̂, k̄)
      let (down, up, toEnd, before) = (m.down, m.up, m.toEnd, m.before)
      let (qHat, aHat, kHat, bHat, kBar, bBar) = (m.qHat, m.aHat, m.kHat, m.bHat, m.kBar, m.bBar)
      for t in 0..<c {
        let row = offset + (t0 + t) * x.width
        let e = t * n
        if let dq = grads.q { let out = dq + row; for i in 0..<n { out[i] += dqHat[e + i] * down[e + i] } }
        if let da = grads.a { let out = da + row; for i in 0..<n { out[i] += daHat[e + i] * before[e + i] } }
        if let dk = grads.k { let out = dk + row; for i in 0..<n { out[i] += dkHat[e + i] * up[e + i] + dkBar[e + i] * toEnd[e + i] } }
        if let db = grads.b { let out = db + row; for i in 0..<n { out[i] += dbHat[e + i] * up[e + i] + dbBar[e + i] * toEnd[e + i] } }
        if let dv = grads.v { let out = dv + row; for j in 0..<n { out[j] += dV[e + j] } }
        for i in 0..<n {
          let ends = dkBar[e + i] * kBar[e + i] + dbBar[e + i] * bBar[e + i]
          dGamma[e + i] = dqHat[e + i] * qHat[e + i] + daHat[e + i] * aHat[e + i] - dkHat[e + i] * kHat[e + i] - dbHat[e + i] * bHat[e + i] - ends
          dGammaLast[i] += ends
        }
      }
      for i in 0..<n { dGamma[(c - 1) * n + i] += dGammaLast[i] }
      if let dg = grads.g {
        // γ_t = Σ_{s≤t} g_s, and â_t's factor e^{γ_t − g_t} has g_t itself once more.
        for i in 0..<n { dGammaLast[i] = 0 }
        for t in stride(from: c - 1, through: 0, by: -1) {
          let (e, out) = (t * n, dg + offset + (t0 + t) * x.width)
          for i in 0..<n {
            dGammaLast[i] += dGamma[e + i]
            out[i] += dGammaLast[i] - daHat[e + i] * aHat[e + i]
          }
        }
      }
      dS.update(from: dS0, count: n * n)
    }
  }

  /// Zeros the part of a `c × c` matrix above the diagonal (`strict`: the diagonal too).
  static func mask<T: BinaryFloatingPoint>(_ matrix: UnsafeMutablePointer<T>, c: Int, ld: Int, strict: Bool) {
    for t in 0..<c { for s in (strict ? t : t + 1)..<c { matrix[t * ld + s] = 0 } }
  }

  /// `C (+)= op(A) op(B)` for row-major `op(A)` `m × k` and `op(B)` `k × n` (row strides `lda`,
  /// `ldb`, `ldc`; `transA`: `A` is stored `k × m`, `transB`: `B` is stored `n × k`). Plain loops
  /// in a fixed order, for any `T`; every inner loop runs along a row of `C` (`Bᵀ` is copied
  /// first), so it vectorizes.
  static func multiply<T: BinaryFloatingPoint>(
    _ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, _ a: UnsafePointer<T>, _ lda: Int, _ b: UnsafePointer<T>,
    _ ldb: Int, _ c: UnsafeMutablePointer<T>, _ ldc: Int, accumulate: Bool
  ) {
    precondition(!(transA && transB), "multiply: Aᵀ Bᵀ is not needed")
    if !accumulate { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = 0 } } }
    if transB {
      withUnsafeTemporaryAllocation(of: T.self, capacity: k * n) { transposed in
        let bt = transposed.baseAddress!
        for j in 0..<n { for p in 0..<k { bt[p * n + j] = b[j * ldb + p] } }
        multiply(false, false, m: m, n: n, k: k, a, lda, bt, n, c, ldc, accumulate: true)
      }
    } else {
      // A(i, p) = a[i·rowStride + p·columnStride]; four rows of B per pass over a row of C.
      let (rowStride, columnStride) = transA ? (1, lda) : (lda, 1)
      for i in 0..<m {
        let (row, out) = (a + i * rowStride, c + i * ldc)
        var p = 0
        while p + 4 <= k {
          let (x0, x1, x2, x3) = (row[p * columnStride], row[(p + 1) * columnStride], row[(p + 2) * columnStride], row[(p + 3) * columnStride])
          let (b0, b1, b2, b3) = (b + p * ldb, b + (p + 1) * ldb, b + (p + 2) * ldb, b + (p + 3) * ldb)
          for j in 0..<n { out[j] += x0 * b0[j] + x1 * b1[j] + x2 * b2[j] + x3 * b3[j] }
          p += 4
        }
        while p < k {
          let (x, b0) = (row[p * columnStride], b + p * ldb)
          for j in 0..<n { out[j] += x * b0[j] }
          p += 1
        }
      }
    }
  }

  /// Threads for the shape: a step costs a few `headDim²` multiply-adds per head.
  static func threads(_ available: Int, batch: Int, length: Int, heads: Int, headDim: Int) -> Int {
    Compute.threads(available, forWork: 4 * batch * length * heads * headDim * headDim)
  }
}

extension Tape {
  /// RWKV-7's generalized delta rule of `q`, `logDecay`, `k`, `v`, `a`, `b` (`[batch, length,
  /// heads · headDim]` each), in `form` (see ``GeneralizedDeltaRule``).
  public func generalizedDeltaRule(
    q: Tensor, logDecay: Tensor, k: Tensor, v: Tensor, a: Tensor, b: Tensor, heads: Int,
    form: GeneralizedDeltaRule.Form
  ) -> Tensor {
    let threads = self.threads
    precondition(
      q.shape.count == 3 && [logDecay, k, v, a, b].allSatisfy { $0.shape == q.shape } && q.shape[2] % heads == 0,
      "generalized delta rule: q \(q.shape), log decay \(logDecay.shape), k \(k.shape), v \(v.shape), a \(a.shape), b \(b.shape), \(heads) heads")
    let (batch, length, headDim) = (q.shape[0], q.shape[1], q.shape[2] / heads)
    let out = Tensor(uninitialized: q.shape, requiresGrad: true)
    let saved = Tensor(
      uninitialized: [GeneralizedDeltaRule.savedCount(form: form, batch: batch, length: length, heads: heads, headDim: headDim)])
    GeneralizedDeltaRule.forward(
      form: form, q: q.value.baseAddress!, logDecay: logDecay.value.baseAddress!, k: k.value.baseAddress!,
      v: v.value.baseAddress!, a: a.value.baseAddress!, b: b.value.baseAddress!, batch: batch, length: length,
      heads: heads, headDim: headDim, out: out.value.baseAddress!, saved: saved.value.baseAddress!, threads: threads)
    record {
      func grad(_ t: Tensor) -> UnsafeMutablePointer<Float>? { t.requiresGrad ? t.grad.baseAddress! : nil }
      GeneralizedDeltaRule.backward(
        form: form, q: q.value.baseAddress!, logDecay: logDecay.value.baseAddress!, k: k.value.baseAddress!,
        v: v.value.baseAddress!, a: a.value.baseAddress!, b: b.value.baseAddress!, batch: batch, length: length,
        heads: heads, headDim: headDim, saved: saved.value.baseAddress!, dOut: out.grad.baseAddress!, dq: grad(q),
        dLogDecay: grad(logDecay), dk: grad(k), dv: grad(v), da: grad(a), db: grad(b), threads: threads)
    }
    return out
  }
}
