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
/// mixer; ``MixerRegistry`` builds them by name.
public protocol SequenceMixer: AnyObject {
  /// Trainable parameters with names relative to the mixer (`Wqkv.weight`, ...), in a fixed order.
  var parameters: [NamedParameter] { get }
  /// The forward pass, recording backward steps on `tape`.
  func forward(_ x: Tensor, tape: Tape) -> Tensor
  /// Elements of state a recurrent (generating) implementation carries per sequence after
  /// `length` tokens (docs/MODELS.md, "State sizes"; ×4 for bytes in fp32): what the mixer can remember.
  func stateSize(length: Int) -> Int
}

/// What a mixer constructor gets.
public struct MixerContext {
  public var config: ModelConfig
  /// Index of the block the mixer sits in.
  public var layer: Int
  /// Zoology's init std for linear weights (0.02) and for output projections (0.02/√(2·layers)).
  public var std: Float
  public var outputStd: Float

  /// A context for the mixer of block `layer`.
  public init(config: ModelConfig, layer: Int, std: Float, outputStd: Float) {
    self.config = config
    self.layer = layer
    self.std = std
    self.outputStd = outputStd
  }
}

/// Mixers by name.
public enum MixerRegistry {
  /// Known mixer names. A model's `mixer` may also list one per layer (`base_conv,based`).
  public static var names: [String] {
    ["attention", "base_conv", "based", "h3", "hyena", "mamba", "retnet", "rwkv", "sliding_window_attention"]
  }

  /// Builds the mixer `name` for one block.
  public static func make(_ name: String, context: MixerContext) -> any SequenceMixer {
    switch name {
    case "attention": return AttentionMixer(context: context)
    case "base_conv": return BaseConvMixer(context: context)
    case "based": return BasedMixer(context: context)
    case "h3": return H3Mixer(context: context)
    case "hyena": return HyenaMixer(context: context)
    case "mamba": return MambaMixer(context: context)
    case "retnet": return RetNetMixer(context: context)
    case "rwkv": return RWKVMixer(context: context)
    case "sliding_window_attention": return AttentionMixer(context: context, window: context.config.windowSize)
    default: preconditionFailure("unknown mixer \(name) (validate the config first)")
    }
  }
}
