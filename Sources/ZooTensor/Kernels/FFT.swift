// swift-format-ignore-file: AlwaysUseLowerCamelCase
import Foundation

/// An iterative radix-2 complex FFT of one power-of-two size, with precomputed twiddles and
/// bit-reversal table. Used by ``CausalLongConvolution``; data are split real/imaginary arrays.
public struct FFT: Sendable {
  /// Transform size (a power of two).
  public let N: Int
  private let cosTable: [Float]
  private let sinTable: [Float]
  private let reversed: [Int32]

  /// A plan for size `N` (a power of two, at least 2).
  public init(size N: Int) {
    precondition(N >= 2 && N & (N - 1) == 0, "FFT size \(N) must be a power of two")
    self.N = N
    cosTable = (0..<N / 2).map { Float(cos(-2 * Double.pi * Double($0) / Double(N))) }
    sinTable = (0..<N / 2).map { Float(sin(-2 * Double.pi * Double($0) / Double(N))) }
    let bits = N.trailingZeroBitCount
    reversed = (0..<N).map { i in Int32(truncatingIfNeeded: (0..<bits).reduce(0) { r, b in r | ((i >> b) & 1) << (bits - 1 - b) }) }
  }

  /// The smallest power of two ≥ `n`.
  public static func size(atLeast n: Int) -> Int {
    var N = 2
    while N < n { N <<= 1 }
    return N
  }

  /// In-place transform of `re`/`im` (length `N`). `inverse` computes the unnormalized inverse
  /// (the caller divides by `N`).
  public func transform(re: UnsafeMutablePointer<Float>, im: UnsafeMutablePointer<Float>, inverse: Bool) {
    for i in 0..<N {
      let j = Int(reversed[i])
      if i < j {
        swap(&re[i], &re[j])
        swap(&im[i], &im[j])
      }
    }
    let sign: Float = inverse ? -1 : 1
    cosTable.withUnsafeBufferPointer { cosT in
      sinTable.withUnsafeBufferPointer { sinT in
        var half = 1
        while half < N {
          let step = N / (2 * half)
          var start = 0
          while start < N {
            for k in 0..<half {
              let wr = cosT[k * step]
              let wi = sign * sinT[k * step]
              let a = start + k
              let b = a + half
              let tr = re[b] * wr - im[b] * wi
              let ti = re[b] * wi + im[b] * wr
              re[b] = re[a] - tr
              im[b] = im[a] - ti
              re[a] += tr
              im[a] += ti
            }
            start += 2 * half
          }
          half *= 2
        }
      }
    }
  }
}
