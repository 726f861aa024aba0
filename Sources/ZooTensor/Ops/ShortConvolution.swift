import ZooSupport

/// Causal depthwise convolution with a short kernel and an optional bias, as PyTorch's
/// `Conv1d(d, d, k, groups=d, padding=k-1)` keeping the first `length` outputs:
/// `y[b, t, c] = bias[c] + Σ_{s<k} w[c, s] · x[b, t − (k−1) + s, c]` (zero before the start; no
/// bias term without one, as fla's `ShortConvolution` by default).
///
/// The kernels read the weights as `[k, d]` (tap-major, transposed once per call), so every inner
/// loop runs over contiguous channels. The forward and the input gradient split the rows
/// (`batch × length`) across threads, the weight and bias gradients split the channels; each
/// output element sums its terms in one fixed order (taps ascending for `y`, descending for
/// `dx`, rows ascending for `dWeight` and `dBias`), whatever the thread count.
public enum ShortConvolution {
  /// Rows per unit of work of the row-split kernels.
  static let rowBlock = 64

  /// `w[c, s]` as `[s, c]`.
  static func tapMajor(_ weight: UnsafePointer<Float>, d: Int, kernel: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: kernel * d) { taps, count in
      Transpose.apply(weight, batches: 1, m: d, n: kernel, into: taps.baseAddress!, accumulate: false)
      count = kernel * d
    }
  }

  /// Runs `body(b, rows)` for blocks of ``rowBlock`` rows of each sequence, on up to `threads` threads.
  static func forRowBlocks(batch: Int, length: Int, threads: Int, _ body: (_ b: Int, _ rows: Range<Int>) -> Void) {
    let blocks = (length + rowBlock - 1) / rowBlock
    parallelFor(batch * blocks, threads: threads) { item in
      let first = (item % blocks) * rowBlock
      body(item / blocks, first..<min(first + rowBlock, length))
    }
  }

  public static func forward(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, weight: UnsafePointer<Float>, kernel: Int,
    bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let taps = tapMajor(weight, d: d, kernel: kernel)
    taps.withUnsafeBufferPointer { taps in
      let shared = UncheckedSendable((x, y, taps.baseAddress!, bias))
      forRowBlocks(batch: batch, length: length, threads: threads) { b, rows in
        let (x, y, taps, bias) = shared.value
        for t in rows {
          let out = y + (b * length + t) * d
          if let bias { out.update(from: bias, count: d) } else { out.update(repeating: 0, count: d) }
          for s in max(0, kernel - 1 - t)..<kernel {
            let row = x + (b * length + t - (kernel - 1) + s) * d
            let w = taps + s * d
            VectorAccumulate.addProducts(w, row, into: out, count: d)
          }
        }
      }
    }
  }

  /// Adds the gradients of `x`, weight and bias.
  public static func backward(
    _ x: UnsafePointer<Float>, batch: Int, length: Int, d: Int, weight: UnsafePointer<Float>, kernel: Int,
    dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>?,
    dBias: UnsafeMutablePointer<Float>?, threads: Int
  ) {
    if let dx {
      // dx[u] += Σ_s w[s] · dy[u + (k−1) − s], the output rows t = u + (k−1) − s in ascending order.
      let taps = tapMajor(weight, d: d, kernel: kernel)
      taps.withUnsafeBufferPointer { taps in
        let shared = UncheckedSendable((dx, dy, taps.baseAddress!))
        forRowBlocks(batch: batch, length: length, threads: threads) { b, rows in
          let (dx, dy, taps) = shared.value
          for u in rows {
            let row = dx + (b * length + u) * d
            for s in stride(from: kernel - 1, through: max(0, u + kernel - length), by: -1) {
              let g = dy + (b * length + u + (kernel - 1) - s) * d
              let w = taps + s * d
              VectorAccumulate.addProducts(w, g, into: row, count: d)
            }
          }
        }
      }
    }
    guard dWeight != nil || dBias != nil else { return }
    // Parameter gradients: each thread owns a block of channels and sums over the rows in order,
    // into tap-major copies of its part of dWeight. Two blocks (of whole cache lines) keep the
    // reads of each row long; the split does not change any element's sum.
    let channelBlock = max(16, ((d + 1) / 2 + 15) / 16 * 16)
    let blocks = (d + channelBlock - 1) / channelBlock
    let shared = UncheckedSendable((x, dy, dWeight, dBias))
    parallelFor(blocks, threads: threads) { block in
      let (x, dy, dWeight, dBias) = shared.value
      let lower = block * channelBlock
      let width = min(channelBlock, d - lower)
      var sums = [Float](repeating: 0, count: kernel * width)
      sums.withUnsafeMutableBufferPointer { sums in
        if let dWeight { Transpose.apply(dWeight + lower * kernel, batches: 1, m: width, n: kernel, into: sums.baseAddress!, accumulate: false) }
        for b in 0..<batch {
          for t in 0..<length {
            let g = dy + (b * length + t) * d + lower
            if let dBias { VectorAccumulate.add(g, into: dBias + lower, count: width) }
            guard dWeight != nil else { continue }
            for s in max(0, kernel - 1 - t)..<kernel {
              let row = x + (b * length + t - (kernel - 1) + s) * d + lower
              let sum = sums.baseAddress! + s * width
              VectorAccumulate.addProducts(g, row, into: sum, count: width)
            }
          }
        }
        if let dWeight { Transpose.apply(sums.baseAddress!, batches: 1, m: kernel, n: width, into: dWeight + lower * kernel, accumulate: false) }
      }
    }
  }
}

extension Tape {
  /// Causal depthwise convolution of `x` `[batch, length, d]` with `weight` `[d, 1, k]` and `bias` `[d]` (or none).
  public func shortConvolution(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    let threads = self.threads
    let (batch, length, d) = (x.shape[0], x.shape[1], x.shape[2])
    let kernel = weight.shape.last!
    precondition(weight.count == d * kernel && (bias?.count ?? d) == d, "short convolution: weight \(weight.shape) for \(x.shape)")
    let y = Tensor(uninitialized: x.shape, requiresGrad: true)
    ShortConvolution.forward(
      x.value.baseAddress!, batch: batch, length: length, d: d, weight: weight.value.baseAddress!, kernel: kernel,
      bias: bias?.value.baseAddress, into: y.value.baseAddress!, threads: threads)
    record {
      ShortConvolution.backward(
        x.value.baseAddress!, batch: batch, length: length, d: d, weight: weight.value.baseAddress!, kernel: kernel,
        dy: y.grad.baseAddress!, dx: x.requiresGrad ? x.grad.baseAddress! : nil,
        dWeight: weight.requiresGrad ? weight.grad.baseAddress! : nil, dBias: bias?.requiresGrad == true ? bias!.grad.baseAddress! : nil, threads: threads)
    }
    return y
  }
}
