/// H3's shift-SSM convolution kernel (`SSKernelShift`): the state is a shift register of `N`
/// steps, so the kernel is a learned FIR filter `K[h, j] = Σ_n B[h, n] · C[h, n + j]` for
/// `j < N`, zero beyond (with `B = e₁`, `K = C`).
extension Tape {
  /// `b`, `c` are `[channels, N]`; returns the kernel `[channels, length]`.
  public func shiftSSMKernel(b: Tensor, c: Tensor, length: Int) -> Tensor {
    precondition(b.shape.count == 2 && b.shape == c.shape, "shift kernel: B \(b.shape), C \(c.shape)")
    let (channels, n) = (b.shape[0], b.shape[1])
    let taps = min(n, length)
    let k = Tensor(zeros: [channels, length], requiresGrad: true)
    for h in 0..<channels {
      for j in 0..<taps {
        var sum: Float = 0
        for i in 0..<(n - j) { sum += b.value[h * n + i] * c.value[h * n + i + j] }
        k.value[h * length + j] = sum
      }
    }
    record {
      for h in 0..<channels {
        for j in 0..<taps {
          let g = k.grad[h * length + j]
          for i in 0..<(n - j) {
            if b.requiresGrad { b.grad[h * n + i] += g * c.value[h * n + i + j] }
            if c.requiresGrad { c.grad[h * n + i + j] += g * b.value[h * n + i] }
          }
        }
      }
    }
    return k
  }
}
