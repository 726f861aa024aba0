/// Element-wise accumulations eight floats at a time, for short inner loops over rows whose
/// pointers the compiler cannot prove apart (the scalar loops measured slower in the short
/// convolution's gradients and the column-slice gradient; the gradients of element-wise sums and
/// products use it too). Each element gets the scalar loop's
/// operations in the scalar loop's order (a product, then a sum: not fused), so the results are
/// the same bits.
enum VectorAccumulate {
  /// `y[i] += x[i]` for `i < count`.
  @inline(__always)
  static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
      let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      y[i] += x[i]
      i += 1
    }
  }

  /// `y[i] += a[i] · b[i]` for `i < count`.
  @inline(__always)
  static func addProducts(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
      let product = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self) * UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
      let sum = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD8<Float>.self) + product
      UnsafeMutableRawPointer(y + i).storeBytes(of: sum, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      y[i] += a[i] * b[i]
      i += 1
    }
  }
}
