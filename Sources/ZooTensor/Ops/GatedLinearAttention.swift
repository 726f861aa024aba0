import Foundation
import ZooSupport

/// Gated linear attention, the core of GLA and of Mamba-2's SSD (docs/MODELS.md, "GLA", "Mamba-2").
/// Per batch element and head, with keys `k_t`, queries `q_t ∈ R^K`, values `v_t ∈ R^V`, log-gates
/// `g_t` and decays `α_t = exp(g_t)`:
///
///     S_t = diag(α_t) · S_{t−1} + k_t v_tᵀ        (S_{−1} = 0, K × V)
///     o_t = S_tᵀ (s · q_t)
///
/// GLA's gate is a vector over the key dimension (`g` `[batch, L, heads·K]`); Mamba-2's is one
/// scalar per head broadcast over it (`g` `[batch, L, heads]`). Unrolled, `o_t = Σ_{j≤t} s·(q_t ⊙
/// E_tj)·k_j v_j` with `E_tj = Π_{j<m≤t} α_m` (1 for `j = t`).
///
/// Two views compute it. ``Form/recurrent`` runs the recurrence token by token. ``Form/chunked(size:)``
/// cuts the sequence into chunks of `C` tokens; with `P_i = Π_{c0≤m≤i} α_m` (decay from the chunk's
/// start `c0` through `i`) and `R_j = Π_{j<m≤end} α_m` (from `j` to the chunk's last token), for
/// `i` in the chunk and `S` the state before it,
///
///     o_i     = s·(q_i ⊙ P_i)ᵀ S + Σ_{c0≤j≤i} s·(q_i ⊙ E_ij)·k_j v_j       inter- plus intra-chunk
///     S_next  = diag(P_end) S + Σ_j (k_j ⊙ R_j) v_jᵀ                       the state passed on
///
/// Every factor is a product of decays (each ≤ 1 for `g ≤ 0`), so nothing overflows however
/// strong the decay; the intra-chunk weights `E_ij` are running products over `j` (no exponential
/// of a cumulative sum is formed). Each chunk costs `C²/2·(K + V)` for the intra part and `2·K·V·C`
/// for the state, so the cost is linear in `L` for a fixed chunk size.
///
/// Backward of the chunked view, chunks in reverse, with `dS` the gradient of the state after the
/// chunk (from later chunks; 0 after the last) and `dA_ij = dO_i · v_j`:
/// `∂q_i += s·P_i ⊙ (S dO_i) + Σ_{j≤i} s·dA_ij (k_j ⊙ E_ij)`,
/// `∂k_j += R_j ⊙ (dS v_j) + Σ_{i≥j} s·dA_ij (q_i ⊙ E_ij)`,
/// `∂v_j += dSᵀ (k_j ⊙ R_j) + Σ_{i≥j} A_ij dO_i` (`A_ij = s·(q_i ⊙ E_ij)·k_j`), then
/// `dS ← diag(P_end) dS + Σ_i s·(q_i ⊙ P_i) dO_iᵀ` for the chunk before. The states before each
/// chunk are recomputed first (`⌈L/C⌉·K·V` values). The gates: `o` depends on `g` only through the
/// cumulative sums `G_t = Σ_{m≤t} g_m` in `E_tj = exp(G_t − G_j)`, whose weight a query gains a key
/// loses, so `∂L/∂G_t = q_t ⊙ ∂q_t − k_t ⊙ ∂k_t` and `∂L/∂g_m = Σ_{t≥m} (q_t ⊙ ∂q_t − k_t ⊙ ∂k_t)`,
/// a reverse cumulative sum (summed over the key dimension for a scalar gate).
///
/// Backward of the recurrent view, a separate derivation: with `dS_t = ∂L/∂S_t` accumulated in
/// reverse time (`dS_t = s·q_t dO_tᵀ + diag(α_{t+1}) dS_{t+1}`), `∂q_t = s·S_t dO_t`,
/// `∂k_t = dS_t v_t`, `∂v_t = dS_tᵀ k_t`, `∂g_t = α_t ⊙ rowsum(S_{t−1} ⊙ dS_t)` (summed over the
/// key dimension for a scalar gate); it keeps every state (`L·K·V` values per batch element and head).
///
/// The kernels are generic over the float type, so the tests compare the views in Double. One
/// (batch element, head) is one work item and owns its rows of every output and gradient, so
/// results do not depend on the thread count.
public enum GatedLinearAttention {
  /// Which view computes the op.
  public enum Form: Equatable, Sendable {
    /// Chunks of `size` tokens (the last may be shorter): the training view.
    case chunked(size: Int)
    /// Token by token.
    case recurrent
  }

  /// The sizes of a call: `heads` heads of `keys` key and `values` value channels, with `gates`
  /// log-gates per head and token (`keys`, or 1 for a scalar gate).
  struct Shape {
    var batch, length, heads, keys, values, gates: Int

    /// Threads for the shape: a token costs about `4·K·V` (state, output, their gradients) plus
    /// `C·(K + V)` in the chunk.
    func threads(_ available: Int, form: Form) -> Int {
      let chunk = if case .chunked(let size) = form { min(size, length) } else { 0 }
      return Compute.threads(available, forWork: batch * heads * length * (4 * keys * values + chunk * (keys + values)))
    }
  }

  /// Fills `out` `[batch, L, heads·V]` from `q`, `k` `[batch, L, heads·K]`, `v` `[batch, L, heads·V]`
  /// and `g` `[batch, L, heads·gates]`.
  static func forward<T: GatedLinearAttentionScalar>(
    q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>, g: UnsafePointer<T>, shape: Shape, scale: T,
    form: Form, out: UnsafeMutablePointer<T>, threads: Int
  ) {
    let shared = UncheckedSendable((q, k, v, g, out))
    parallelFor(shape.batch * shape.heads, threads: shape.threads(threads, form: form)) { item in
      let (q, k, v, g, out) = shared.value
      let item = Item<T>(shape, item: item, chunk: form.chunk(shape.length))
      defer { item.deallocate() }
      item.load(q: q, k: k, v: v, g: g)
      switch form {
      case .chunked(let size): item.chunkedForward(chunk: size, scale: scale)
      case .recurrent: item.recurrentForward(scale: scale, keepStates: false)
      }
      item.store(item.o, width: shape.values, into: out)
    }
  }

  /// Adds the gradients of `q`, `k`, `v` and `g` (each optional) given `dOut`.
  static func backward<T: GatedLinearAttentionScalar>(
    q: UnsafePointer<T>, k: UnsafePointer<T>, v: UnsafePointer<T>, g: UnsafePointer<T>, shape: Shape, scale: T,
    form: Form, dOut: UnsafePointer<T>, dq: UnsafeMutablePointer<T>?, dk: UnsafeMutablePointer<T>?,
    dv: UnsafeMutablePointer<T>?, dg: UnsafeMutablePointer<T>?, threads: Int
  ) {
    let shared = UncheckedSendable((q, k, v, g, dOut, dq, dk, dv, dg))
    parallelFor(shape.batch * shape.heads, threads: shape.threads(threads, form: form)) { item in
      let (q, k, v, g, dOut, dq, dk, dv, dg) = shared.value
      let item = Item<T>(shape, item: item, chunk: form.chunk(shape.length), backward: form == .recurrent ? .recurrent : .chunked)
      defer { item.deallocate() }
      item.load(q: q, k: k, v: v, g: g)
      item.loadGradient(dOut)
      switch form {
      case .chunked(let size): item.chunkedBackward(chunk: size, scale: scale)
      case .recurrent: item.recurrentBackward(scale: scale)
      }
      if let dq { item.addStore(item.dq, width: shape.keys, into: dq) }
      if let dk { item.addStore(item.dk, width: shape.keys, into: dk) }
      if let dv { item.addStore(item.dv, width: shape.values, into: dv) }
      if let dg { item.addStore(item.dg, width: shape.gates, into: dg) }
    }
  }
}

extension GatedLinearAttention.Form {
  /// The chunk length the scratch is sized for (1 for the recurrence).
  func chunk(_ length: Int) -> Int {
    if case .chunked(let size) = self { max(1, min(size, length)) } else { 1 }
  }
}

/// The float types the kernels run in: Float for training, Double for the tests' comparisons.
protocol GatedLinearAttentionScalar: BinaryFloatingPoint {
  static func exponential(_ x: Self) -> Self
}

extension Float: GatedLinearAttentionScalar {
  static func exponential(_ x: Float) -> Float { Foundation.exp(x) }
}

extension Double: GatedLinearAttentionScalar {
  static func exponential(_ x: Double) -> Double { Foundation.exp(x) }
}

/// One (batch element, head): its rows of the inputs copied into `[L, width]` arrays, its outputs
/// and gradients, and the scratch of either view.
private struct Item<T: GatedLinearAttentionScalar> {
  enum Backward { case none, chunked, recurrent }

  let shape: GatedLinearAttention.Shape
  let batchIndex, head: Int
  let length, keys, values, gates: Int
  /// Inputs: `q`, `k` `[L, K]`, `v` `[L, V]`, decays `a = exp(g)` `[L, gates]`; the output `o` `[L, V]`.
  let q, k, v, a, o: UnsafeMutablePointer<T>
  /// Backward: `dO` (in `o`'s place), `dq`, `dk` `[L, K]`, `dv` `[L, V]`, `dg` `[L, gates]`.
  let dq, dk, dv, dg: UnsafeMutablePointer<T>
  /// The state and its gradient `[K, V]`, the chunk's `P`, `R` `[C, gates]`, the running product `w`
  /// `[gates]`, and the kept states (chunk starts, or every token for the recurrent backward).
  let state, dState, p, r, w, states: UnsafeMutablePointer<T>
  let storage: UnsafeMutablePointer<T>

  init(_ shape: GatedLinearAttention.Shape, item: Int, chunk: Int, backward: Backward = .none) {
    self.shape = shape
    (batchIndex, head) = (item / shape.heads, item % shape.heads)
    (length, keys, values, gates) = (shape.length, shape.keys, shape.values, shape.gates)
    let (l, kk, vv, gg) = (length, keys, values, gates)
    let kept: Int
    switch backward {
    case .none: kept = 0
    case .chunked: kept = (l + chunk - 1) / chunk * kk * vv
    case .recurrent: kept = l * kk * vv
    }
    let g = backward == .none ? 0 : 1  // gradients only for backward
    let sizes = [l * kk, l * kk, l * vv, l * gg, l * vv, g * l * kk, g * l * kk, g * l * vv, g * l * gg, kk * vv, kk * vv, chunk * gg, chunk * gg, gg, kept]
    let total = sizes.reduce(0, +)
    storage = .allocate(capacity: total)
    storage.initialize(repeating: 0, count: total)
    var parts: [UnsafeMutablePointer<T>] = []
    var next = storage
    for size in sizes {
      parts.append(next)
      next += size
    }
    (q, k, v, a, o) = (parts[0], parts[1], parts[2], parts[3], parts[4])
    (dq, dk, dv, dg) = (parts[5], parts[6], parts[7], parts[8])
    (state, dState, p, r, w, states) = (parts[9], parts[10], parts[11], parts[12], parts[13], parts[14])
  }

  func deallocate() { storage.deallocate() }

  /// The gate lane of key `i` (itself, or 0 for a scalar gate).
  @inline(__always) func lane(_ i: Int) -> Int { gates == 1 ? 0 : i }

  /// Offset of this item's row `t` in a `[batch, L, heads·width]` tensor.
  @inline(__always) func offset(_ t: Int, width: Int) -> Int { (batchIndex * length + t) * shape.heads * width + head * width }

  func load(q q0: UnsafePointer<T>, k k0: UnsafePointer<T>, v v0: UnsafePointer<T>, g g0: UnsafePointer<T>) {
    for t in 0..<length {
      (q + t * keys).update(from: q0 + offset(t, width: keys), count: keys)
      (k + t * keys).update(from: k0 + offset(t, width: keys), count: keys)
      (v + t * values).update(from: v0 + offset(t, width: values), count: values)
      let row = g0 + offset(t, width: gates)
      for i in 0..<gates { a[t * gates + i] = T.exponential(row[i]) }
    }
  }

  /// Puts `dOut`'s rows in `o`.
  func loadGradient(_ dOut: UnsafePointer<T>) {
    for t in 0..<length { (o + t * values).update(from: dOut + offset(t, width: values), count: values) }
  }

  func store(_ source: UnsafePointer<T>, width: Int, into target: UnsafeMutablePointer<T>) {
    for t in 0..<length { (target + offset(t, width: width)).update(from: source + t * width, count: width) }
  }

  func addStore(_ source: UnsafePointer<T>, width: Int, into target: UnsafeMutablePointer<T>) {
    for t in 0..<length {
      let row = target + offset(t, width: width)
      for i in 0..<width { row[i] += source[t * width + i] }
    }
  }

  // MARK: chunked view

  /// `P` and `R` of the chunk of `n` tokens at `c0`.
  func decays(c0: Int, n: Int) {
    for i in 0..<n {
      for j in 0..<gates { p[i * gates + j] = (i == 0 ? 1 : p[(i - 1) * gates + j]) * a[(c0 + i) * gates + j] }
    }
    for i in stride(from: n - 1, through: 0, by: -1) {
      for j in 0..<gates { r[i * gates + j] = i == n - 1 ? 1 : r[(i + 1) * gates + j] * a[(c0 + i + 1) * gates + j] }
    }
  }

  /// `A_tu = s·(q_t ⊙ w)·k_u`, `w` the running product `E_tu`.
  @inline(__always) func weight(_ t: Int, _ u: Int, scale: T) -> T {
    let (qt, ku) = (q + t * keys, k + u * keys)
    var sum: T = 0
    if gates == 1 {
      for i in 0..<keys { sum += qt[i] * ku[i] }
      return scale * sum * w[0]
    }
    for i in 0..<keys { sum += qt[i] * ku[i] * w[i] }
    return scale * sum
  }

  /// `w ← w ⊙ α_u`.
  @inline(__always) func decay(_ u: Int) {
    for j in 0..<gates { w[j] *= a[u * gates + j] }
  }

  /// `S ← diag(P_end) S + Σ_j (k_j ⊙ R_j) v_jᵀ` for the chunk at `c0` (with its `P`, `R`).
  func passState(c0: Int, n: Int) {
    for i in 0..<keys {
      let decay = p[(n - 1) * gates + lane(i)]
      let row = state + i * values
      for c in 0..<values { row[c] *= decay }
    }
    for j in 0..<n {
      let u = c0 + j
      for i in 0..<keys {
        let f = k[u * keys + i] * r[j * gates + lane(i)]
        let (row, vu) = (state + i * values, v + u * values)
        for c in 0..<values { row[c] += f * vu[c] }
      }
    }
  }

  func chunkedForward(chunk: Int, scale: T) {
    var c0 = 0
    while c0 < length {
      let n = min(chunk, length - c0)
      decays(c0: c0, n: n)
      for i in 0..<n {
        let t = c0 + i
        let ot = o + t * values
        for c in 0..<values { ot[c] = 0 }
        for key in 0..<keys {
          let f = scale * q[t * keys + key] * p[i * gates + lane(key)]
          let row = state + key * values
          for c in 0..<values { ot[c] += f * row[c] }
        }
        for j in 0..<gates { w[j] = 1 }
        for u in stride(from: t, through: c0, by: -1) {
          let score = weight(t, u, scale: scale)
          let vu = v + u * values
          for c in 0..<values { ot[c] += score * vu[c] }
          decay(u)
        }
      }
      passState(c0: c0, n: n)
      c0 += n
    }
  }

  /// `o` holds `dO` on entry; fills `dq`, `dk`, `dv`, `dg`.
  func chunkedBackward(chunk: Int, scale: T) {
    let chunks = (length + chunk - 1) / chunk
    for c in 0..<chunks {
      (states + c * keys * values).update(from: state, count: keys * values)
      let c0 = c * chunk
      let n = min(chunk, length - c0)
      decays(c0: c0, n: n)
      passState(c0: c0, n: n)
    }
    for c in stride(from: chunks - 1, through: 0, by: -1) {
      let c0 = c * chunk
      let n = min(chunk, length - c0)
      let before = states + c * keys * values
      decays(c0: c0, n: n)
      // Through the state passed on: ∂k_j += R_j ⊙ (dS v_j), ∂v_j += dSᵀ (k_j ⊙ R_j).
      for j in 0..<n {
        let u = c0 + j
        let vu = v + u * values
        let dvu = dv + u * values
        for i in 0..<keys {
          let row = dState + i * values
          var sum: T = 0
          for col in 0..<values { sum += row[col] * vu[col] }
          let rj = r[j * gates + lane(i)]
          dk[u * keys + i] += rj * sum
          let f = k[u * keys + i] * rj
          for col in 0..<values { dvu[col] += f * row[col] }
        }
      }
      for i in 0..<n {
        let t = c0 + i
        let dot = o + t * values
        // Inter-chunk output: ∂q_t += s·P_i ⊙ (S dO_t).
        for key in 0..<keys {
          let row = before + key * values
          var sum: T = 0
          for col in 0..<values { sum += row[col] * dot[col] }
          dq[t * keys + key] += scale * p[i * gates + lane(key)] * sum
        }
        // Intra-chunk: A_tu and dA_tu = dO_t · v_u with the running product w = E_tu.
        for j in 0..<gates { w[j] = 1 }
        for u in stride(from: t, through: c0, by: -1) {
          let score = weight(t, u, scale: scale)
          let (vu, dvu) = (v + u * values, dv + u * values)
          var dScore: T = 0
          for col in 0..<values {
            dScore += dot[col] * vu[col]
            dvu[col] += score * dot[col]
          }
          dScore *= scale
          let (qt, ku, dqt, dku) = (q + t * keys, k + u * keys, dq + t * keys, dk + u * keys)
          for key in 0..<keys {
            let e = w[lane(key)]
            dqt[key] += dScore * ku[key] * e
            dku[key] += dScore * qt[key] * e
          }
          decay(u)
        }
      }
      // The gradient of the state before this chunk: dS ← diag(P_end) dS + Σ_i s·(q_i ⊙ P_i) dO_iᵀ.
      for key in 0..<keys {
        let decay = p[(n - 1) * gates + lane(key)]
        let row = dState + key * values
        for col in 0..<values { row[col] *= decay }
        for i in 0..<n {
          let t = c0 + i
          let f = scale * q[t * keys + key] * p[i * gates + lane(key)]
          let dot = o + t * values
          for col in 0..<values { row[col] += f * dot[col] }
        }
      }
    }
    // ∂g_m = Σ_{t≥m} (q_t ⊙ ∂q_t − k_t ⊙ ∂k_t), summed into the gate's lanes.
    for j in 0..<gates { w[j] = 0 }
    for t in stride(from: length - 1, through: 0, by: -1) {
      for key in 0..<keys {
        let index = t * keys + key
        w[lane(key)] += q[index] * dq[index] - k[index] * dk[index]
      }
      for j in 0..<gates { dg[t * gates + j] = w[j] }
    }
  }

  // MARK: recurrent view

  /// Token by token; with `keepStates` every `S_t` is kept in `states`.
  func recurrentForward(scale: T, keepStates: Bool) {
    for t in 0..<length {
      let vt = v + t * values
      let ot = o + t * values
      for c in 0..<values { ot[c] = 0 }
      for key in 0..<keys {
        let (decay, kt, f) = (a[t * gates + lane(key)], k[t * keys + key], scale * q[t * keys + key])
        let row = state + key * values
        for c in 0..<values {
          row[c] = decay * row[c] + kt * vt[c]
          ot[c] += f * row[c]
        }
      }
      if keepStates { (states + t * keys * values).update(from: state, count: keys * values) }
    }
  }

  /// `o` holds `dO` on entry; fills `dq`, `dk`, `dv`, `dg`.
  func recurrentBackward(scale: T) {
    let dOut = UnsafeMutablePointer<T>.allocate(capacity: length * values)
    defer { dOut.deallocate() }
    dOut.update(from: o, count: length * values)
    recurrentForward(scale: scale, keepStates: true)
    for t in stride(from: length - 1, through: 0, by: -1) {
      let (dot, vt, st) = (dOut + t * values, v + t * values, states + t * keys * values)
      for key in 0..<keys {
        let (row, now) = (dState + key * values, st + key * values)
        let previous: UnsafeMutablePointer<T>? = t > 0 ? states + (t - 1) * keys * values + key * values : nil
        let (f, kt) = (scale * q[t * keys + key], k[t * keys + key])
        var sumQ: T = 0
        var sumK: T = 0
        var dDecay: T = 0
        for c in 0..<values {
          row[c] += f * dot[c]
          sumQ += now[c] * dot[c]
          sumK += row[c] * vt[c]
          dv[t * values + c] += row[c] * kt
          if let previous { dDecay += previous[c] * row[c] }
        }
        dq[t * keys + key] = scale * sumQ
        dk[t * keys + key] = sumK
        let decay = a[t * gates + lane(key)]
        dg[t * gates + lane(key)] += decay * dDecay
        for c in 0..<values { row[c] *= decay }
      }
    }
  }
}

extension Tape {
  /// Gated linear attention of `q`, `k` `[batch, L, heads·K]` and `v` `[batch, L, heads·V]` with
  /// log-gates `logGate` `[batch, L, heads·K]` (one per key, GLA) or `[batch, L, heads]` (one per
  /// head, Mamba-2), queries scaled by `scale`; `[batch, L, heads·V]`.
  public func gatedLinearAttention(
    q: Tensor, k: Tensor, v: Tensor, logGate g: Tensor, heads: Int, scale: Float, form: GatedLinearAttention.Form
  ) -> Tensor {
    let threads = self.threads
    precondition(q.shape.count == 3 && k.shape == q.shape && heads > 0 && q.shape[2] % heads == 0, "gated linear attention: q \(q.shape), k \(k.shape), \(heads) heads")
    let (batch, length) = (q.shape[0], q.shape[1])
    let keys = q.shape[2] / heads
    precondition(v.shape.count == 3 && v.shape[0] == batch && v.shape[1] == length && v.shape[2] % heads == 0, "gated linear attention: v \(v.shape) for q \(q.shape)")
    precondition(g.shape == [batch, length, heads * keys] || g.shape == [batch, length, heads], "gated linear attention: gate \(g.shape) for q \(q.shape), \(heads) heads")
    if case .chunked(let size) = form { precondition(size > 0, "gated linear attention: chunk size \(size)") }
    let shape = GatedLinearAttention.Shape(
      batch: batch, length: length, heads: heads, keys: keys, values: v.shape[2] / heads, gates: g.shape[2] / heads)
    let out = Tensor(uninitialized: v.shape, requiresGrad: true)
    GatedLinearAttention.forward(
      q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, g: g.value.baseAddress!, shape: shape,
      scale: scale, form: form, out: out.value.baseAddress!, threads: threads)
    record {
      GatedLinearAttention.backward(
        q: q.value.baseAddress!, k: k.value.baseAddress!, v: v.value.baseAddress!, g: g.value.baseAddress!, shape: shape,
        scale: scale, form: form, dOut: out.grad.baseAddress!, dq: q.requiresGrad ? q.grad.baseAddress! : nil,
        dk: k.requiresGrad ? k.grad.baseAddress! : nil, dv: v.requiresGrad ? v.grad.baseAddress! : nil,
        dg: g.requiresGrad ? g.grad.baseAddress! : nil, threads: threads)
    }
    return out
  }
}
