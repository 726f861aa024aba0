/// A dense float tensor in row-major order, with a gradient buffer allocated on first use.
///
/// Ops read `value` and write new tensors; their backward closures (recorded on a ``Tape``)
/// add into the `grad` of their inputs. Memory is owned and freed with the tensor.
public final class Tensor: @unchecked Sendable {
  /// Dimensions, outermost first.
  public let shape: [Int]
  /// Number of elements.
  public let count: Int
  /// The values.
  public let value: UnsafeMutableBufferPointer<Float>
  private var gradStorage: UnsafeMutableBufferPointer<Float>?
  /// Whether backward should compute this tensor's gradient (parameters and what depends on them).
  public let requiresGrad: Bool

  /// A zero tensor of `shape`.
  public init(zeros shape: [Int], requiresGrad: Bool = false) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    count = shape.reduce(1, *)
    value = .allocate(capacity: max(count, 1))
    value.initialize(repeating: 0)
    self.requiresGrad = requiresGrad
  }

  /// A tensor of `shape` whose values the caller overwrites entirely before reading them (ops'
  /// outputs: skips zeroing memory that is about to be written).
  public init(uninitialized shape: [Int], requiresGrad: Bool = false) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    self.shape = shape
    count = shape.reduce(1, *)
    value = .allocate(capacity: max(count, 1))
    self.requiresGrad = requiresGrad
  }

  /// A tensor holding `values` with `shape`.
  public convenience init(_ values: [Float], shape: [Int], requiresGrad: Bool = false) {
    self.init(zeros: shape, requiresGrad: requiresGrad)
    precondition(values.count == count, "\(values.count) values for shape \(shape)")
    _ = value.initialize(from: values)
  }

  deinit {
    value.deallocate()
    gradStorage?.deallocate()
  }

  /// The gradient, allocated (zeroed) on first access.
  public var grad: UnsafeMutableBufferPointer<Float> {
    if let gradStorage { return gradStorage }
    let g = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count, 1))
    g.initialize(repeating: 0)
    gradStorage = g
    return g
  }

  /// Whether a gradient has been allocated (something flowed into it).
  public var hasGrad: Bool { gradStorage != nil }

  /// Sets the gradient to zero (keeps the buffer).
  public func zeroGrad() {
    gradStorage?.update(repeating: 0)
  }

  /// The values as an array.
  public var array: [Float] { Array(value) }

  /// The gradient as an array (zeros when none flowed).
  public var gradArray: [Float] { gradStorage.map { Array($0) } ?? [Float](repeating: 0, count: count) }

  /// Size of the last dimension.
  public var lastDimension: Int { shape.last ?? 1 }

  /// Rows when viewed as a matrix `[count / last, last]`.
  public var rows: Int { lastDimension == 0 ? 0 : count / lastDimension }
}
