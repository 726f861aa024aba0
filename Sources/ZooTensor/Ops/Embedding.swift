/// Token embedding lookup plus optional learned positions: `y[b, t] = E[ids[b, t]] + P[t]`.
extension Tape {
  /// Embeds `ids` (`batch × length`, each `< E.shape[0]`) with `table` `[vocab, d]` and adds
  /// `positions` `[maxLength, d]` rows `0..<length` when given.
  public func embedding(ids: [Int32], batch: Int, length: Int, table: Tensor, positions: Tensor?) -> Tensor {
    let d = table.shape[1]
    precondition(ids.count == batch * length, "embedding: \(ids.count) ids for \(batch)×\(length)")
    if let positions { precondition(positions.shape[0] >= length && positions.shape[1] == d, "embedding: positions \(positions.shape) for length \(length)") }
    let y = Tensor(uninitialized: [batch, length, d], requiresGrad: true)
    let vocab = table.shape[0]
    for (n, id) in ids.enumerated() {
      precondition(id >= 0 && Int(id) < vocab, "embedding: id \(id) outside the vocabulary (\(vocab))")
      let out = y.value.baseAddress! + n * d
      out.update(from: table.value.baseAddress! + Int(id) * d, count: d)
      if let positions {
        let p = positions.value.baseAddress! + (n % length) * d
        for i in 0..<d { out[i] += p[i] }
      }
    }
    record {
      let g = y.grad.baseAddress!
      if table.requiresGrad {
        let gt = table.grad.baseAddress!
        for (n, id) in ids.enumerated() {
          let row = gt + Int(id) * d
          for i in 0..<d { row[i] += g[n * d + i] }
        }
      }
      if let positions, positions.requiresGrad {
        let gp = positions.grad.baseAddress!
        for n in 0..<ids.count {
          let row = gp + (n % length) * d
          for i in 0..<d { row[i] += g[n * d + i] }
        }
      }
    }
    return y
  }
}
