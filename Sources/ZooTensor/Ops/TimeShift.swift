/// RWKV's token shift: each sequence moved one step later in time, zero at the first position,
/// `y[b, t] = x[b, t − 1]` (`nn.ZeroPad2d((0, 0, 1, −1))` on `[batch, length, d]`).
extension Tape {
  /// `x` `[batch, length, d]` shifted right by one step per sequence.
  public func timeShift(_ x: Tensor) -> Tensor {
    precondition(x.shape.count == 3, "time shift: want [batch, length, d], got \(x.shape)")
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    for b in 0..<batch {
      for t in 0..<length {
        let row = (b * length + t) * d
        for c in 0..<d { y.value[row + c] = t == 0 ? 0 : x.value[row - d + c] }
      }
    }
    record {
      guard x.requiresGrad else { return }
      let g = x.grad
      for b in 0..<batch {
        for t in 1..<max(length, 1) {
          let row = (b * length + t) * d
          for c in 0..<d { g[row - d + c] += y.grad[row + c] }
        }
      }
    }
    return y
  }
}
