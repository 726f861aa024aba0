import ZooTensor

/// A named trainable tensor.
public struct NamedParameter {
  /// Name as in Zoology's `state_dict` (e.g. `backbone.layers.0.sequence_mixer.Wqkv.weight`).
  public var name: String
  /// The tensor.
  public var tensor: Tensor
  /// Standard deviation of its normal initialization; nil for constants (ones or zeros).
  public var initStd: Float?
  /// Constant initial value when `initStd` is nil.
  public var initValue: Float

  public init(_ name: String, _ shape: [Int], std: Float?, value: Float = 0) {
    self.name = name
    tensor = Tensor(zeros: shape, requiresGrad: true)
    initStd = std
    initValue = value
  }
}

/// A sequence mixer: maps `[batch, length, d]` to `[batch, length, d]`, causally. One file per
/// mixer; ``MixerRegistry`` builds them by name.
public protocol SequenceMixer: AnyObject {
  /// Trainable parameters with names relative to the mixer (`Wqkv.weight`, ...), in a fixed order.
  var parameters: [NamedParameter] { get }
  /// The forward pass, recording backward steps on `tape`.
  func forward(_ x: Tensor, tape: Tape) -> Tensor
}

/// What a mixer constructor gets.
public struct MixerContext {
  public var config: ModelConfig
  /// Index of the block the mixer sits in.
  public var layer: Int
  /// Zoology's init std for linear weights (0.02) and for output projections (0.02/√(2·layers)).
  public var std: Float
  public var outputStd: Float
}

/// Mixers by name.
public enum MixerRegistry {
  /// Known mixer names.
  public static var names: [String] { ["attention"] }

  /// Builds the mixer `name` for one block.
  public static func make(_ name: String, context: MixerContext) -> any SequenceMixer {
    switch name {
    case "attention": return AttentionMixer(context: context)
    default: preconditionFailure("unknown mixer \(name) (validate the config first)")
    }
  }
}
