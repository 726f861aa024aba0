import COpenBLAS
import Foundation
import ZooSupport

/// The delta rule of DeltaNet and, with a decay, Gated DeltaNet (docs/MODELS.md, "DeltaNet";
/// flash-linear-attention's `delta_rule` and `gated_delta_rule` ops, their state layout and scale).
/// Per batch element and head, with keys and queries of `K` values, values of `V`, the state
/// `S ∈ R^{K×V}`, `β_t ∈ (0, 1)`, the log decay `g_t ≤ 0` (`α_t = e^{g_t}`; DeltaNet: `g = 0`):
///
///     S_t = α_t (I − β_t k_t k_tᵀ) S_{t−1} + β_t k_t v_tᵀ      (S_{−1} = 0)
///     o_t = S_tᵀ q_t / √K
///
/// Two forms compute it. ``Form/recurrent`` runs it token by token (`u_t = β_t (v_t − α_t S_{t−1}ᵀ k_t)`,
/// `S_t = α_t S_{t−1} + k_t u_tᵀ`). ``Form/chunked(size:)`` is the WY/UT form of Yang et al.
/// (2024, "Parallelizing Linear Transformers with the Delta Rule over Sequence Length") with
/// Gated DeltaNet's decays: for a chunk of `n` tokens entering with state `S`, with `γ_i = Σ_{j≤i} g_j`
/// (within the chunk), `Γ_i = e^{γ_i}`, `M_ij = e^{γ_i − γ_j}` (`i ≥ j`),
///
///     A = strictly lower part of diag(β) (K Kᵀ ⊙ M)
///     [U | W] = (I + A)⁻¹ [diag(β) V | diag(β Γ) K]     (a unit lower-triangular solve)
///     V' = U − W S                                       (the values the tokens write: u_i)
///     O = diag(Γ) Q S / √K + (lower part of Q Kᵀ ⊙ M) V' / √K
///     S ← Γ_{n−1} S + Kᵀ diag(e^{γ_{n−1} − γ}) V'
///
/// (u_i + Σ_{j<i} A_ij u_j = β_i v_i − β_i Γ_i Sᵀ k_i unrolls the recurrence over the chunk).
/// Both forms cost O(L) per sequence; the chunked one does its work in matrix products of the
/// chunk's size (OpenBLAS). Its backward runs the chunks in reverse with `dS`, the gradient of the
/// state leaving a chunk, each chunk recomputing its products from the state saved on entry:
///
///     dS_in  = Γ_{n−1} dS + Q̂ᵀ diag(Γ) dO − Wᵀ dV'                         (Q̂ = Q/√K, P = lower(Q̂ Kᵀ ⊙ M))
///     dV'    = diag(e) K dS + Pᵀ dO,     dQ̂ = diag(Γ) dO Sᵀ + (dP ⊙ M) K,    dP = lower(dO V'ᵀ)
///     [dU | dW] = [dV' | −dV' Sᵀ],   dY = (I + A)⁻ᵀ [dU | dW],   dA = −strictly lower(dY [U | W]ᵀ)
///     dv_i = β_i dY^u_i,   dβ_i = v_i·dY^u_i + Γ_i k_i·dY^w_i + Σ_j dA_ij (K Kᵀ ⊙ M)_ij
///     dK = diag(e) V' dSᵀ + (dP ⊙ M)ᵀ Q̂ + diag(β Γ) dY^w + G K + Gᵀ K,     G = dA ⊙ β_i M
///
/// and the decays through `γ`: `dγ_i` collects `Γ_i` times the gradient of `Γ_i`, `Σ_j (dP ⊙ P + dA ⊙ A)_ij`
/// minus the same sums over `i` for column `j`, and the `e` terms; `dg_j = Σ_{i≥j} dγ_i`. The
/// recurrent form's backward stores every `S_t` and runs the reverse-time recurrence.
///
/// Shapes: `q`, `k` `[batch, L, heads·K]`, `v` and the output `[batch, L, heads·V]`, `β` and `g`
/// `[batch, L, heads]` (head `h` owns columns `h·K..<(h+1)·K`, as fla's `(h d)` layout). One
/// (batch element, head) is one work item, so results do not depend on the thread count.
public enum DeltaRule {
  /// How the rule is computed (the same function; both have a backward).
  public enum Form: Sendable, Equatable {
    /// Token by token.
    case recurrent
    /// In chunks of `size` tokens (the last may be shorter), the training form.
    case chunked(size: Int)
  }

  /// The shape of one call.
  struct Shape {
    var batch, length, heads, keyDim, valueDim: Int
    var items: Int { batch * heads }
    /// Threads for the shape: a token costs about `K·V + chunk·(K + V)` multiply-adds per head.
    func threads(_ available: Int, chunk: Int) -> Int {
      Compute.threads(available, forWork: batch * length * heads * (keyDim * valueDim + chunk * (keyDim + valueDim)))
    }
  }

  /// The inputs, as laid out in the doc comment; `logDecay` is nil for the ungated rule.
  struct Inputs<T: DeltaRuleElement> {
    var q, k, v, beta: UnsafePointer<T>
    var logDecay: UnsafePointer<T>?
  }

  /// Where gradients are added (each optional).
  struct Gradients<T: DeltaRuleElement> {
    var q, k, v, beta, logDecay: UnsafeMutablePointer<T>?
  }

  /// One item's rows: pointers to its first token and the row strides.
  struct Item<T: DeltaRuleElement> {
    let q, k, v, beta: UnsafePointer<T>
    let logDecay: UnsafePointer<T>?
    let keyStride, valueStride, scalarStride: Int

    init(_ inputs: Inputs<T>, _ shape: Shape, item: Int) {
      let (b, h) = (item / shape.heads, item % shape.heads)
      let (keys, values, scalars) = (shape.heads * shape.keyDim, shape.heads * shape.valueDim, shape.heads)
      (keyStride, valueStride, scalarStride) = (keys, values, scalars)
      q = inputs.q + b * shape.length * keys + h * shape.keyDim
      k = inputs.k + b * shape.length * keys + h * shape.keyDim
      v = inputs.v + b * shape.length * values + h * shape.valueDim
      beta = inputs.beta + b * shape.length * scalars + h
      logDecay = inputs.logDecay.map { $0 + b * shape.length * scalars + h }
    }

    /// Offsets of token `t`'s key row, value row and scalars from the item's first token.
    func keyRow(_ t: Int) -> Int { t * keyStride }
    func valueRow(_ t: Int) -> Int { t * valueStride }
    func scalar(_ t: Int) -> Int { t * scalarStride }
  }

  /// Chunks of `size` covering `length`.
  static func chunks(length: Int, size: Int) -> Int { (length + size - 1) / size }

  /// Elements of the states the chunked forward saves for its backward (each chunk's entering state).
  static func savedStateCount(_ shape: Shape, chunk: Int) -> Int {
    shape.items * chunks(length: shape.length, size: chunk) * shape.keyDim * shape.valueDim
  }

  // MARK: Recurrent form

  /// Fills `out` token by token.
  static func recurrentForward<T: DeltaRuleElement>(
    _ inputs: Inputs<T>, _ shape: Shape, out: UnsafeMutablePointer<T>, threads: Int
  ) {
    let shared = UncheckedSendable((inputs, out))
    parallelFor(shape.items, threads: shape.threads(threads, chunk: 1)) { item in
      let (inputs, out) = shared.value
      let state = UnsafeMutablePointer<T>.allocate(capacity: shape.keyDim * shape.valueDim)
      defer { state.deallocate() }
      state.initialize(repeating: 0, count: shape.keyDim * shape.valueDim)
      recurrentSequence(Item(inputs, shape, item: item), shape, states: state, keepsStates: false, out: outRow(out, shape, item: item))
    }
  }

  /// Adds the gradients of the inputs, given `dOut`, by the reverse-time recurrence:
  /// with `dS` the gradient of `S_t`, `S̃ = α_t S_{t−1}`, `r = v_t − S̃ᵀ k_t`, `u = β_t r`:
  /// `dS += q̂_t do_tᵀ`, `dq_t = S_t do_t/√K`, `du = dSᵀ k_t`, `dk_t = dS u − β_t S̃ du`,
  /// `dv_t = β_t du`, `dβ_t = r·du`, `dS̃ = dS − β_t k_t duᵀ`, `dg_t = α_t ⟨dS̃, S_{t−1}⟩`, `dS ← α_t dS̃`.
  static func recurrentBackward<T: DeltaRuleElement>(
    _ inputs: Inputs<T>, _ shape: Shape, dOut: UnsafePointer<T>, gradients: Gradients<T>, threads: Int
  ) {
    let (kd, vd, length) = (shape.keyDim, shape.valueDim, shape.length)
    let scale = 1 / T(kd).squareRoot()
    let shared = UncheckedSendable((inputs, dOut, gradients))
    parallelFor(shape.items, threads: shape.threads(threads, chunk: 1)) { index in
      let (inputs, dOut, gradients) = shared.value
      let item = Item(inputs, shape, item: index)
      // Every S_t, [L, K, V]; then dS, dS̃ [K, V]; r, du [V]; the token's dk [K].
      let scratch = UnsafeMutablePointer<T>.allocate(capacity: (length + 2) * kd * vd + 2 * vd + kd)
      defer { scratch.deallocate() }
      let states = scratch
      let (dS, dTilde) = (scratch + length * kd * vd, scratch + (length + 1) * kd * vd)
      let (r, du, dk) = (scratch + (length + 2) * kd * vd, scratch + (length + 2) * kd * vd + vd, scratch + (length + 2) * kd * vd + 2 * vd)
      states.initialize(repeating: 0, count: kd * vd)
      recurrentSequence(item, shape, states: states, keepsStates: true, out: nil)
      dS.initialize(repeating: 0, count: kd * vd)
      let g = gradientRows(gradients, shape, item: index)
      let dO = UnsafePointer(outRow(UnsafeMutablePointer(mutating: dOut), shape, item: index))
      for t in stride(from: length - 1, through: 0, by: -1) {
        let (q, k, v) = (item.q + item.keyRow(t), item.k + item.keyRow(t), item.v + item.valueRow(t))
        let doRow = dO + item.valueRow(t)
        let beta = item.beta[item.scalar(t)]
        let alpha = item.logDecay.map { T.exp($0[item.scalar(t)]) } ?? 1
        let current = states + t * kd * vd
        let previous: UnsafePointer<T>? = t > 0 ? UnsafePointer(states + (t - 1) * kd * vd) : nil
        // in the forward pass this was: o_t = S_tᵀ q_t/√K
        for i in 0..<kd {
          var dq: T = 0
          for c in 0..<vd {
            dq += current[i * vd + c] * doRow[c]
            dS[i * vd + c] += scale * q[i] * doRow[c]
          }
          g.q?[item.keyRow(t) + i] += scale * dq
        }
        // S_t = S̃ + k uᵀ with u = β (v − S̃ᵀ k), S̃ = α S_{t−1}
        for c in 0..<vd {
          var seen: T = 0
          if let previous { for i in 0..<kd { seen += previous[i * vd + c] * k[i] } }
          r[c] = v[c] - alpha * seen
          var d: T = 0
          for i in 0..<kd { d += dS[i * vd + c] * k[i] }
          du[c] = d
        }
        var dBeta: T = 0
        for c in 0..<vd {
          dBeta += r[c] * du[c]
          g.v?[item.valueRow(t) + c] += beta * du[c]
        }
        g.beta?[item.scalar(t)] += dBeta
        var dAlpha: T = 0
        for i in 0..<kd {
          var d: T = 0
          for c in 0..<vd {
            d += dS[i * vd + c] * beta * r[c]
            if let previous { d -= beta * alpha * previous[i * vd + c] * du[c] }
            dTilde[i * vd + c] = dS[i * vd + c] - beta * k[i] * du[c]
            if let previous { dAlpha += dTilde[i * vd + c] * previous[i * vd + c] }
          }
          dk[i] = d
        }
        for i in 0..<kd { g.k?[item.keyRow(t) + i] += dk[i] }
        g.logDecay?[item.scalar(t)] += dAlpha * alpha
        for i in 0..<(kd * vd) { dS[i] = alpha * dTilde[i] }
      }
    }
  }

  /// One item's sequence, token by token, from `states[0..<K·V]` (zero): writes `o_t` to `out` if
  /// given, and, with `keepsStates`, `S_t` to `states + t·K·V` (else it updates `states` in place).
  static func recurrentSequence<T: DeltaRuleElement>(
    _ item: Item<T>, _ shape: Shape, states: UnsafeMutablePointer<T>, keepsStates: Bool, out: UnsafeMutablePointer<T>?
  ) {
    let (kd, vd) = (shape.keyDim, shape.valueDim)
    let scale = 1 / T(kd).squareRoot()
    let u = UnsafeMutablePointer<T>.allocate(capacity: vd)
    defer { u.deallocate() }
    for t in 0..<shape.length {
      let (q, k, v) = (item.q + item.keyRow(t), item.k + item.keyRow(t), item.v + item.valueRow(t))
      let beta = item.beta[item.scalar(t)]
      let alpha = item.logDecay.map { T.exp($0[item.scalar(t)]) } ?? 1
      let previous = keepsStates && t > 0 ? states + (t - 1) * kd * vd : states
      let current = keepsStates ? states + t * kd * vd : states
      for i in 0..<(kd * vd) { current[i] = alpha * previous[i] }
      for c in 0..<vd {
        var seen: T = 0
        for i in 0..<kd { seen += current[i * vd + c] * k[i] }
        u[c] = beta * (v[c] - seen)
      }
      for i in 0..<kd { for c in 0..<vd { current[i * vd + c] += k[i] * u[c] } }
      if let out {
        let row = out + item.valueRow(t)
        for c in 0..<vd {
          var o: T = 0
          for i in 0..<kd { o += current[i * vd + c] * q[i] }
          row[c] = scale * o
        }
      }
    }
  }

  // MARK: Chunked form

  /// Fills `out` chunk by chunk and saves each chunk's entering state in `states`
  /// (``savedStateCount(_:chunk:)`` elements).
  static func chunkedForward<T: DeltaRuleElement>(
    _ inputs: Inputs<T>, _ shape: Shape, chunk: Int, out: UnsafeMutablePointer<T>, states: UnsafeMutablePointer<T>,
    threads: Int
  ) {
    let (kd, vd) = (shape.keyDim, shape.valueDim)
    let count = chunks(length: shape.length, size: chunk)
    let shared = UncheckedSendable((inputs, out, states))
    parallelFor(shape.items, threads: shape.threads(threads, chunk: chunk)) { index in
      let (inputs, out, states) = shared.value
      let item = Item(inputs, shape, item: index)
      let o = outRow(out, shape, item: index)
      let work = ChunkWork<T>(chunk: chunk, keyDim: kd, valueDim: vd)
      defer { work.deallocate() }
      let state = work.state
      state.initialize(repeating: 0, count: kd * vd)
      for c in 0..<count {
        (states + (index * count + c) * kd * vd).update(from: state, count: kd * vd)
        let (start, n) = (c * chunk, min(chunk, shape.length - c * chunk))
        work.prepare(item, start: start, n: n, entering: UnsafePointer(state))
        let (q, k) = (item.q + item.keyRow(start), item.k + item.keyRow(start))
        let rows = o + item.valueRow(start)
        // O = diag(Γ) Q S/√K + P V'
        T.gemm(false, false, n, vd, kd, work.scale, q, item.keyStride, state, vd, 0, rows, item.valueStride)
        if item.logDecay != nil { for i in 0..<n { for j in 0..<vd { rows[i * item.valueStride + j] *= work.decay[i] } } }
        T.gemm(false, false, n, vd, n, 1, work.p, n, work.fresh, vd, 1, rows, item.valueStride)
        // S ← Γ_{n−1} S + Kᵀ diag(e) V'
        if item.logDecay != nil {
          for i in 0..<(kd * vd) { state[i] *= work.decay[n - 1] }
          for i in 0..<n { for j in 0..<vd { work.fresh[i * vd + j] *= work.toEnd[i] } }
        }
        T.gemm(true, false, kd, vd, n, 1, k, item.keyStride, work.fresh, vd, 1, state, vd)
      }
    }
  }

  /// Adds the gradients of the inputs, given `dOut` and the forward's saved `states` (see the doc comment).
  static func chunkedBackward<T: DeltaRuleElement>(
    _ inputs: Inputs<T>, _ shape: Shape, chunk: Int, states: UnsafePointer<T>, dOut: UnsafePointer<T>,
    gradients: Gradients<T>, threads: Int
  ) {
    let (kd, vd) = (shape.keyDim, shape.valueDim)
    let count = chunks(length: shape.length, size: chunk)
    let shared = UncheckedSendable((inputs, states, dOut, gradients))
    parallelFor(shape.items, threads: shape.threads(threads, chunk: chunk)) { index in
      let (inputs, states, dOut, gradients) = shared.value
      let item = Item(inputs, shape, item: index)
      let grads = gradientRows(gradients, shape, item: index)
      let dO = UnsafePointer(outRow(UnsafeMutablePointer(mutating: dOut), shape, item: index))
      let work = ChunkWork<T>(chunk: chunk, keyDim: kd, valueDim: vd)
      defer { work.deallocate() }
      let b = ChunkGradients<T>(chunk: chunk, keyDim: kd, valueDim: vd)
      defer { b.deallocate() }
      let gated = item.logDecay != nil
      let ldy = vd + kd
      b.dState.initialize(repeating: 0, count: kd * vd)
      for c in stride(from: count - 1, through: 0, by: -1) {
        let (start, n) = (c * chunk, min(chunk, shape.length - c * chunk))
        let entering = states + (index * count + c) * kd * vd
        work.prepare(item, start: start, n: n, entering: entering)
        let (q, k, v) = (item.q + item.keyRow(start), item.k + item.keyRow(start), item.v + item.valueRow(start))
        let dORows = dO + item.valueRow(start)
        let (ks, vs) = (item.keyStride, item.valueStride)
        b.reset(n: n)
        let (dGamma, dBeta, dK, dFresh) = (b.dGamma, b.dBeta, b.dK, b.dFresh)
        // in the forward pass this was: S_out = Γ_{n−1} S + Kᵀ diag(e) V'
        let last = work.decay[n - 1]
        for i in 0..<(kd * vd) { b.dEntering[i] = last * b.dState[i] }
        if gated {
          var dot: T = 0
          for i in 0..<(kd * vd) { dot += b.dState[i] * entering[i] }
          dGamma[n - 1] += last * dot
        }
        T.gemm(false, false, n, vd, kd, 1, k, ks, b.dState, vd, 0, dFresh, vd)  // K dS
        for i in 0..<n {
          let e = work.toEnd[i]
          if gated {
            var de: T = 0
            for j in 0..<vd { de += dFresh[i * vd + j] * work.fresh[i * vd + j] }
            dGamma[n - 1] += de * e
            dGamma[i] -= de * e
          }
          for j in 0..<vd {
            dFresh[i * vd + j] *= e
            b.scaledFresh[i * vd + j] = work.fresh[i * vd + j] * e
          }
        }
        T.gemm(false, true, n, kd, vd, 1, b.scaledFresh, vd, b.dState, vd, 1, dK, kd)
        // O = diag(Γ) Q̂ S + P V', P = lower(Q̂ Kᵀ ⊙ M)
        T.gemm(false, true, n, kd, vd, 1, dORows, vs, entering, vd, 0, b.keyWork, kd)  // X = dO Sᵀ
        for i in 0..<n {
          let gamma = work.decay[i]
          var dot: T = 0
          for j in 0..<kd {
            grads.q?[item.keyRow(start + i) + j] += work.scale * gamma * b.keyWork[i * kd + j]
            dot += q[i * ks + j] * b.keyWork[i * kd + j]
          }
          if gated { dGamma[i] += gamma * work.scale * dot }
          for j in 0..<vd { b.scaledFresh[i * vd + j] = gamma * dORows[i * vs + j] }  // diag(Γ) dO
        }
        T.gemm(true, false, kd, vd, n, work.scale, q, ks, b.scaledFresh, vd, 1, b.dEntering, vd)
        T.gemm(true, false, n, vd, n, 1, work.p, n, dORows, vs, 1, dFresh, vd)
        T.gemm(false, true, n, n, vd, 1, dORows, vs, work.fresh, vd, 0, b.square, n)  // dP = dO V'ᵀ
        for i in 0..<n {
          for j in 0..<n {
            let index = i * n + j
            guard j <= i else { b.square[index] = 0; continue }
            if gated && j < i {
              let pp = b.square[index] * work.p[index]
              dGamma[i] += pp
              dGamma[j] -= pp
            }
            b.square[index] *= work.scale * work.mask(i, j, n)  // (dP ⊙ M)/√K
          }
        }
        if let dq = grads.q { T.gemm(false, false, n, kd, n, 1, b.square, n, k, ks, 1, dq + item.keyRow(start), ks) }
        T.gemm(true, false, n, kd, n, 1, b.square, n, q, ks, 1, dK, kd)
        // V' = U − W S
        for i in 0..<n { for j in 0..<vd { b.dSolved[i * ldy + j] = dFresh[i * vd + j] } }
        T.gemm(false, true, n, kd, vd, -1, dFresh, vd, entering, vd, 0, b.dSolved + vd, ldy)
        T.gemm(true, false, kd, vd, n, -1, work.solved + vd, ldy, dFresh, vd, 1, b.dEntering, vd)
        // [U | W] = (I + A)⁻¹ [diag(β) V | diag(β Γ) K]
        T.solveUnitLower(transposed: true, n, ldy, work.a, n, b.dSolved, ldy)
        T.gemm(false, true, n, n, ldy, -1, b.dSolved, ldy, work.solved, ldy, 0, b.square, n)  // dA
        for i in 0..<n {
          let beta = item.beta[item.scalar(start + i)]
          let gamma = work.decay[i]
          var dotV: T = 0
          var dotK: T = 0
          for j in 0..<vd {
            dotV += v[i * vs + j] * b.dSolved[i * ldy + j]
            grads.v?[item.valueRow(start + i) + j] += beta * b.dSolved[i * ldy + j]
          }
          for j in 0..<kd {
            dotK += k[i * ks + j] * b.dSolved[i * ldy + vd + j]
            dK[i * kd + j] += beta * gamma * b.dSolved[i * ldy + vd + j]
          }
          dBeta[i] += dotV + gamma * dotK
          if gated { dGamma[i] += beta * gamma * dotK }
        }
        // A = strictly lower(diag(β) (K Kᵀ ⊙ M))
        for i in 0..<n {
          let beta = item.beta[item.scalar(start + i)]
          for j in 0..<n {
            let index = i * n + j
            guard j < i else { b.square[index] = 0; continue }
            let da = b.square[index]
            dBeta[i] += da * work.keysDecayed[index]
            if gated {
              let aa = da * work.a[index]
              dGamma[i] += aa
              dGamma[j] -= aa
            }
            b.square[index] = da * beta * work.mask(i, j, n)
          }
        }
        T.gemm(false, false, n, kd, n, 1, b.square, n, k, ks, 1, dK, kd)
        T.gemm(true, false, n, kd, n, 1, b.square, n, k, ks, 1, dK, kd)
        for i in 0..<n {
          for j in 0..<kd { grads.k?[item.keyRow(start + i) + j] += dK[i * kd + j] }
          grads.beta?[item.scalar(start + i)] += dBeta[i]
        }
        if gated, let dg = grads.logDecay {
          var sum: T = 0
          for i in stride(from: n - 1, through: 0, by: -1) {
            sum += dGamma[i]
            dg[item.scalar(start + i)] += sum
          }
        }
        b.dState.update(from: b.dEntering, count: kd * vd)
      }
    }
  }

  /// A chunk's forward quantities (kept for its backward), and the state, for one item.
  final class ChunkWork<T: DeltaRuleElement> {
    let scale: T
    let keyDim, valueDim: Int
    let buffer: UnsafeMutablePointer<T>
    /// γ_i (cumulative log decay), Γ_i = e^{γ_i}, e_i = e^{γ_{n−1} − γ_i} `[chunk]`.
    let gamma, decay, toEnd: UnsafeMutablePointer<T>
    /// M (lower, gated rule only), K Kᵀ ⊙ M and A (strictly lower), P (lower): `[n, n]` each.
    let decays, keysDecayed, a, p: UnsafeMutablePointer<T>
    /// [U | W] `[n, V + K]`, V' `[n, V]`, the state `[K, V]`.
    let solved, fresh, state: UnsafeMutablePointer<T>
    var gated = false

    init(chunk: Int, keyDim: Int, valueDim: Int) {
      (self.keyDim, self.valueDim) = (keyDim, valueDim)
      scale = 1 / T(keyDim).squareRoot()
      let square = chunk * chunk
      buffer = .allocate(capacity: 3 * chunk + 4 * square + chunk * (2 * valueDim + keyDim) + keyDim * valueDim)
      (gamma, decay, toEnd) = (buffer, buffer + chunk, buffer + 2 * chunk)
      let squares = buffer + 3 * chunk
      (decays, keysDecayed, a, p) = (squares, squares + square, squares + 2 * square, squares + 3 * square)
      solved = squares + 4 * square
      fresh = solved + chunk * (valueDim + keyDim)
      state = fresh + chunk * valueDim
    }

    func deallocate() { buffer.deallocate() }

    /// `M_ij` (1 for the ungated rule).
    @inline(__always) func mask(_ i: Int, _ j: Int, _ n: Int) -> T { gated ? decays[i * n + j] : 1 }

    /// Everything but the output for the chunk of `n` tokens at `start` entering with state `entering`.
    func prepare(_ item: Item<T>, start: Int, n: Int, entering: UnsafePointer<T>) {
      let (kd, vd) = (keyDim, valueDim)
      gated = item.logDecay != nil
      if let logDecay = item.logDecay {
        var sum: T = 0
        for i in 0..<n {
          sum += logDecay[item.scalar(start + i)]
          gamma[i] = sum
          decay[i] = T.exp(sum)
        }
        for i in 0..<n {
          toEnd[i] = T.exp(gamma[n - 1] - gamma[i])
          for j in 0...i { decays[i * n + j] = T.exp(gamma[i] - gamma[j]) }
        }
      } else {
        for i in 0..<n { (gamma[i], decay[i], toEnd[i]) = (0, 1, 1) }
      }
      let (q, k, v) = (item.q + item.keyRow(start), item.k + item.keyRow(start), item.v + item.valueRow(start))
      let (ks, vs) = (item.keyStride, item.valueStride)
      T.gemm(false, true, n, n, kd, 1, k, ks, k, ks, 0, keysDecayed, n)
      for i in 0..<n {
        let beta = item.beta[item.scalar(start + i)]
        for j in 0..<n {
          let index = i * n + j
          if j < i {
            keysDecayed[index] *= mask(i, j, n)
            a[index] = beta * keysDecayed[index]
          } else {
            (keysDecayed[index], a[index]) = (0, 0)
          }
        }
      }
      let ldy = vd + kd
      for i in 0..<n {
        let beta = item.beta[item.scalar(start + i)]
        for j in 0..<vd { solved[i * ldy + j] = beta * v[i * vs + j] }
        for j in 0..<kd { solved[i * ldy + vd + j] = beta * decay[i] * k[i * ks + j] }
      }
      T.solveUnitLower(transposed: false, n, ldy, a, n, solved, ldy)
      for i in 0..<n { for j in 0..<vd { fresh[i * vd + j] = solved[i * ldy + j] } }
      T.gemm(false, false, n, vd, kd, -1, solved + vd, ldy, entering, vd, 1, fresh, vd)
      T.gemm(false, true, n, n, kd, scale, q, ks, k, ks, 0, p, n)
      for i in 0..<n { for j in 0..<n { p[i * n + j] = j <= i ? p[i * n + j] * mask(i, j, n) : 0 } }
    }
  }

  /// A chunk's gradient buffers in the backward pass, for one item.
  final class ChunkGradients<T: DeltaRuleElement> {
    let buffer: UnsafeMutablePointer<T>
    let keyDim: Int
    /// dγ, dβ `[chunk]`; dK and a `[n, K]` product; dV', a scaled copy of V' or dO `[n, V]`.
    let dGamma, dBeta, dK, keyWork, dFresh, scaledFresh: UnsafeMutablePointer<T>
    /// d[U | W] `[n, V + K]`, an `[n, n]` product (dP, then dA), the states' gradients `[K, V]`.
    let dSolved, square, dState, dEntering: UnsafeMutablePointer<T>

    init(chunk: Int, keyDim: Int, valueDim: Int) {
      self.keyDim = keyDim
      buffer = .allocate(capacity: 2 * chunk + chunk * (2 * keyDim + 2 * valueDim + valueDim + keyDim) + chunk * chunk + 2 * keyDim * valueDim)
      (dGamma, dBeta) = (buffer, buffer + chunk)
      dK = buffer + 2 * chunk
      keyWork = dK + chunk * keyDim
      dFresh = keyWork + chunk * keyDim
      scaledFresh = dFresh + chunk * valueDim
      dSolved = scaledFresh + chunk * valueDim
      square = dSolved + chunk * (valueDim + keyDim)
      dState = square + chunk * chunk
      dEntering = dState + keyDim * valueDim
    }

    func deallocate() { buffer.deallocate() }

    /// Zeroes what a chunk of `n` tokens accumulates into.
    func reset(n: Int) {
      dGamma.initialize(repeating: 0, count: n)
      dBeta.initialize(repeating: 0, count: n)
      dK.initialize(repeating: 0, count: n * keyDim)
    }
  }

  /// Item `item`'s first output row (layout of `v`).
  static func outRow<T>(_ out: UnsafeMutablePointer<T>, _ shape: Shape, item: Int) -> UnsafeMutablePointer<T> {
    let (b, h) = (item / shape.heads, item % shape.heads)
    return out + b * shape.length * shape.heads * shape.valueDim + h * shape.valueDim
  }

  /// Item `item`'s first gradient rows (strides as its inputs').
  static func gradientRows<T>(_ g: Gradients<T>, _ shape: Shape, item: Int) -> Gradients<T> {
    let (b, h) = (item / shape.heads, item % shape.heads)
    let keys = b * shape.length * shape.heads * shape.keyDim + h * shape.keyDim
    let scalars = b * shape.length * shape.heads + h
    return Gradients(
      q: g.q.map { $0 + keys }, k: g.k.map { $0 + keys }, v: g.v.map { outRow($0, shape, item: item) },
      beta: g.beta.map { $0 + scalars }, logDecay: g.logDecay.map { $0 + scalars })
  }
}

/// The element types the delta rule runs in: `Float` for training, `Double` for the tests that
/// hold its two forms to each other in float64. Row-major BLAS, single-threaded (``Compute``).
protocol DeltaRuleElement: BinaryFloatingPoint {
  static func exp(_ x: Self) -> Self
  /// `C = α·op(A)·op(B) + β·C`, `op(A)` `m × k`, `op(B)` `k × n`.
  static func gemm(
    _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Self, _ a: UnsafePointer<Self>,
    _ lda: Int, _ b: UnsafePointer<Self>, _ ldb: Int, _ beta: Self, _ c: UnsafeMutablePointer<Self>, _ ldc: Int)
  /// `B ← (I + L)⁻¹ B`, or `(I + L)⁻ᵀ B` when `transposed`, with `L` the strictly lower part of the
  /// `m × m` matrix `a` (its diagonal and upper part are not read) and `B` `m × n`.
  static func solveUnitLower(
    transposed: Bool, _ m: Int, _ n: Int, _ a: UnsafePointer<Self>, _ lda: Int, _ b: UnsafeMutablePointer<Self>, _ ldb: Int)
}

extension Float: DeltaRuleElement {
  static func exp(_ x: Float) -> Float { Foundation.exp(x) }

  static func gemm(
    _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float, _ a: UnsafePointer<Float>,
    _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int, _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int
  ) {
    _ = Compute.threads  // makes sure OpenBLAS was set to one thread
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
      Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  static func solveUnitLower(
    transposed: Bool, _ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafeMutablePointer<Float>, _ ldb: Int
  ) {
    _ = Compute.threads
    cblas_strsm(
      CblasRowMajor, CblasLeft, CblasLower, transposed ? CblasTrans : CblasNoTrans, CblasUnit, Int32(m), Int32(n), 1, a,
      Int32(lda), b, Int32(ldb))
  }
}

extension Double: DeltaRuleElement {
  static func exp(_ x: Double) -> Double { Foundation.exp(x) }

  static func gemm(
    _ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Double, _ a: UnsafePointer<Double>,
    _ lda: Int, _ b: UnsafePointer<Double>, _ ldb: Int, _ beta: Double, _ c: UnsafeMutablePointer<Double>, _ ldc: Int
  ) {
    _ = Compute.threads
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n),
      Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }

  static func solveUnitLower(
    transposed: Bool, _ m: Int, _ n: Int, _ a: UnsafePointer<Double>, _ lda: Int, _ b: UnsafeMutablePointer<Double>, _ ldb: Int
  ) {
    _ = Compute.threads
    cblas_dtrsm(
      CblasRowMajor, CblasLeft, CblasLower, transposed ? CblasTrans : CblasNoTrans, CblasUnit, Int32(m), Int32(n), 1, a,
      Int32(lda), b, Int32(ldb))
  }
}

extension Tape {
  /// The delta rule of `q`, `k` `[batch, L, heads·K]`, `v` `[batch, L, heads·V]` and `beta`
  /// `[batch, L, heads]`, gated when `logDecay` (`g ≤ 0`, `[batch, L, heads]`) is given: `[batch, L, heads·V]`.
  /// The queries and keys go in as they are (the mixers L2-normalize them first); the output is
  /// scaled by `1/√K`.
  public func deltaRule(
    q: Tensor, k: Tensor, v: Tensor, beta: Tensor, logDecay: Tensor?, heads: Int, form: DeltaRule.Form = .chunked(size: 64)
  ) -> Tensor {
    let threads = self.threads
    precondition(q.shape.count == 3 && k.shape == q.shape && v.shape.count == 3 && v.shape.dropLast() == q.shape.dropLast(), "delta rule: q \(q.shape), k \(k.shape), v \(v.shape)")
    let (batch, length) = (q.shape[0], q.shape[1])
    precondition(heads > 0 && q.shape[2] % heads == 0 && v.shape[2] % heads == 0, "delta rule: \(heads) heads for q \(q.shape), v \(v.shape)")
    precondition(beta.shape == [batch, length, heads] && (logDecay?.shape ?? beta.shape) == beta.shape, "delta rule: beta \(beta.shape), log decay \(logDecay?.shape ?? [])")
    let shape = DeltaRule.Shape(batch: batch, length: length, heads: heads, keyDim: q.shape[2] / heads, valueDim: v.shape[2] / heads)
    let inputs = DeltaRule.Inputs(
      q: UnsafePointer(q.value.baseAddress!), k: UnsafePointer(k.value.baseAddress!), v: UnsafePointer(v.value.baseAddress!),
      beta: UnsafePointer(beta.value.baseAddress!), logDecay: logDecay.map { UnsafePointer($0.value.baseAddress!) })
    let out = Tensor(uninitialized: v.shape, requiresGrad: true)
    func gradients() -> DeltaRule.Gradients<Float> {
      DeltaRule.Gradients(
        q: q.requiresGrad ? q.grad.baseAddress! : nil, k: k.requiresGrad ? k.grad.baseAddress! : nil,
        v: v.requiresGrad ? v.grad.baseAddress! : nil, beta: beta.requiresGrad ? beta.grad.baseAddress! : nil,
        logDecay: logDecay.flatMap { $0.requiresGrad ? $0.grad.baseAddress! : nil })
    }
    switch form {
    case .recurrent:
      DeltaRule.recurrentForward(inputs, shape, out: out.value.baseAddress!, threads: threads)
      record {
        DeltaRule.recurrentBackward(inputs, shape, dOut: out.grad.baseAddress!, gradients: gradients(), threads: threads)
      }
    case .chunked(let size):
      precondition(size > 0, "delta rule: chunk size \(size)")
      let states = Tensor(uninitialized: [DeltaRule.savedStateCount(shape, chunk: size)])
      DeltaRule.chunkedForward(inputs, shape, chunk: size, out: out.value.baseAddress!, states: states.value.baseAddress!, threads: threads)
      record {
        DeltaRule.chunkedBackward(
          inputs, shape, chunk: size, states: states.value.baseAddress!, dOut: out.grad.baseAddress!, gradients: gradients(),
          threads: threads)
      }
    }
    return out
  }
}
