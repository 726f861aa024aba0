import ZooSupport
import ZooTensor

/// A named trainable tensor.
public struct NamedParameter {
  /// Name as in Zoology's `state_dict` (e.g. `backbone.layers.0.sequence_mixer.Wqkv.weight`).
  public var name: String
  /// The tensor.
  public var tensor: Tensor
  /// How it is initialized.
  public var initializer: Initializer

  /// Initial values.
  public enum Initializer {
    /// N(0, std²).
    case normal(std: Float)
    /// U(−bound, bound) (PyTorch's default for convolutions: bound = 1/√fan_in).
    case uniform(bound: Float)
    /// Every value the same.
    case constant(Float)
    /// Values made by the mixer (decay spectra, SSM eigenvalues, ...), drawing from the model's
    /// seeded generator where they are random; must return `count` values.
    case custom((inout SplitMix64) -> [Float])
  }

  /// A parameter with a normal initialization (`std`) or, with `std == nil`, the constant `value`.
  public init(_ name: String, _ shape: [Int], std: Float?, value: Float = 0) {
    self.init(name, shape, initializer: std.map { .normal(std: $0) } ?? .constant(value))
  }

  /// A parameter with any initializer.
  public init(_ name: String, _ shape: [Int], initializer: Initializer) {
    self.name = name
    tensor = Tensor(zeros: shape, requiresGrad: true)
    self.initializer = initializer
  }
}

/// A sequence mixer: maps `[batch, length, d]` to `[batch, length, d]`, causally. One file per
/// mixer, and its ``MixerConfig`` builds it (``MixerCatalogue`` lists them).
public protocol SequenceMixer: AnyObject {
  /// Trainable parameters with names relative to the mixer (`Wqkv.weight`, ...), in a fixed order.
  var parameters: [NamedParameter] { get }
  /// The forward pass, recording backward steps on `tape`.
  func forward(_ x: Tensor, tape: Tape) -> Tensor
  /// Elements of state a recurrent (generating) implementation carries per sequence after
  /// `length` tokens (docs/MODELS.md, "State sizes"; ×4 for bytes in fp32): what the mixer can remember.
  func stateSize(length: Int) -> Int
}

/// What a mixer constructor gets besides its own config: the model's shape and the block.
public struct MixerContext {
  /// Model width.
  public var dModel: Int
  /// Longest sequence the model is made for (the convolution filters' length).
  public var lMax: Int
  /// Index of the block the mixer sits in.
  public var layer: Int
  /// Zoology's init std for linear weights (0.02) and for output projections (0.02/√(2·layers)).
  public var std: Float
  public var outputStd: Float

  /// A context for the mixer of block `layer` of a model of `layers` blocks.
  public init(dModel: Int, lMax: Int, layer: Int, layers: Int) {
    self.dModel = dModel
    self.lMax = lMax
    self.layer = layer
    std = 0.02
    outputStd = 0.02 / Float(2 * layers).squareRoot()
  }
}
