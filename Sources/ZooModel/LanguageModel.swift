import Foundation
import ZooSupport
import ZooTensor

/// Zoology's language model skeleton (docs/MODELS.md, "Model skeleton"): token embeddings plus learned positions,
/// pre-norm blocks (`residual += mixer(LN(residual))`, then the MLP on `LN(residual)`), a final
/// residual add and LayerNorm, and a head tied to the token embedding.
///
/// Parameter names and initialization follow Zoology's `_init_weights`: linear weights and
/// embeddings ~ N(0, 0.02), `out_proj.weight`/`fc2.weight` ~ N(0, 0.02/√(2·layers)), biases 0,
/// LayerNorm weights 1. Values are drawn in parameter order from a seeded ``SplitMix64``.
public final class LanguageModel {
  public let config: ModelConfig
  /// Every parameter in a fixed order (the checkpoint and optimizer order).
  public let parameters: [NamedParameter]

  let tokenEmbedding: Tensor
  let positionEmbedding: Tensor?
  let blocks: [Block]
  let finalNormWeight: Tensor
  let finalNormBias: Tensor

  /// One pre-norm block: mixer and MLP.
  struct Block {
    var norm1Weight, norm1Bias, norm2Weight, norm2Bias: Tensor
    var mixer: any SequenceMixer
    var fc1Weight, fc1Bias, fc2Weight, fc2Bias: Tensor?
  }

  /// A model with `config`, initialized from `seed`.
  public init(config: ModelConfig, seed: UInt64) throws {
    try config.validate()
    self.config = config
    let d = config.dModel
    let std: Float = 0.02
    let outputStd = std / Float(2 * config.layers).squareRoot()
    var all: [NamedParameter] = []
    let wte = NamedParameter("backbone.embeddings.word_embeddings.weight", [config.vocabSize, d], std: std)
    all.append(wte)
    tokenEmbedding = wte.tensor
    if config.maxPositions > 0 {
      let wpe = NamedParameter("backbone.embeddings.position_embeddings.weight", [config.maxPositions, d], std: std)
      all.append(wpe)
      positionEmbedding = wpe.tensor
    } else {
      positionEmbedding = nil
    }
    var blocks: [Block] = []
    for layer in 0..<config.layers {
      let prefix = "backbone.layers.\(layer)."
      let mixer = config.mixers[layer].makeMixer(
        context: MixerContext(dModel: d, lMax: config.lMax, layer: layer, layers: config.layers))
      for p in mixer.parameters {
        var named = p
        named.name = prefix + "sequence_mixer." + p.name
        all.append(named)
      }
      let n1w = NamedParameter(prefix + "norm1.weight", [d], std: nil, value: 1)
      let n1b = NamedParameter(prefix + "norm1.bias", [d], std: nil)
      let n2w = NamedParameter(prefix + "norm2.weight", [d], std: nil, value: 1)
      let n2b = NamedParameter(prefix + "norm2.bias", [d], std: nil)
      all += [n1w, n1b, n2w, n2b]
      var block = Block(
        norm1Weight: n1w.tensor, norm1Bias: n1b.tensor, norm2Weight: n2w.tensor, norm2Bias: n2b.tensor, mixer: mixer)
      if config.hiddenMult > 0 {
        let hidden = config.hiddenMult * d
        let fc1w = NamedParameter(prefix + "state_mixer.fc1.weight", [hidden, d], std: std)
        let fc1b = NamedParameter(prefix + "state_mixer.fc1.bias", [hidden], std: nil)
        let fc2w = NamedParameter(prefix + "state_mixer.fc2.weight", [d, hidden], std: outputStd)
        let fc2b = NamedParameter(prefix + "state_mixer.fc2.bias", [d], std: nil)
        all += [fc1w, fc1b, fc2w, fc2b]
        block.fc1Weight = fc1w.tensor
        block.fc1Bias = fc1b.tensor
        block.fc2Weight = fc2w.tensor
        block.fc2Bias = fc2b.tensor
      }
      blocks.append(block)
    }
    let lnw = NamedParameter("backbone.ln_f.weight", [d], std: nil, value: 1)
    let lnb = NamedParameter("backbone.ln_f.bias", [d], std: nil)
    all += [lnw, lnb]
    finalNormWeight = lnw.tensor
    finalNormBias = lnb.tensor
    self.blocks = blocks
    parameters = all

    var rng = SplitMix64(seed: seed)
    for p in all {
      switch p.initializer {
      case .normal(let std):
        for i in 0..<p.tensor.count { p.tensor.value[i] = Float(rng.nextGaussian()) * std }
      case .uniform(let bound):
        for i in 0..<p.tensor.count { p.tensor.value[i] = Float(rng.nextDouble() * 2 - 1) * bound }
      case .constant(let value):
        p.tensor.value.update(repeating: value)
      case .custom(let make):
        let values = make(&rng)
        precondition(values.count == p.tensor.count, "\(p.name): initializer made \(values.count) values for \(p.tensor.count)")
        for i in values.indices { p.tensor.value[i] = values[i] }
      }
    }
  }

  /// Elements of recurrent state per sequence of `length` tokens, summed over the layers' mixers
  /// (×4 for bytes in fp32), as Zoology's `LanguageModel.state_size`.
  public func stateSize(length: Int) -> Int { blocks.reduce(0) { $0 + $1.mixer.stateSize(length: length) } }

  /// Number of trainable values.
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.tensor.count } }

  /// The parameter named `name`.
  public func parameter(named name: String) -> Tensor? { parameters.first { $0.name == name }?.tensor }

  /// Sets every gradient to zero.
  public func zeroGradients() { for p in parameters { p.tensor.zeroGrad() } }

  /// Cross-entropy of predicting `targets` from `inputs` (both `batch × length`, row-major;
  /// negative targets are unlabeled). With a recording tape, `tape.backward()` afterwards fills
  /// the parameters' gradients of the mean loss. Dropout applies only when the tape has a seed.
  public func loss(inputs: [Int32], targets: [Int32], batch: Int, length: Int, tape: Tape) -> LossOutput {
    precondition(positionEmbedding == nil || length <= config.maxPositions, "sequence length \(length) exceeds max_position_embeddings \(config.maxPositions)")
    let x0 = tape.embedding(ids: inputs, batch: batch, length: length, table: tokenEmbedding, positions: positionEmbedding)
    var x = tape.dropout(x0, p: config.embedDropout)
    var residual: Tensor? = nil
    for block in blocks {
      let r = residual.map { tape.add(x, $0) } ?? x
      let mixed = block.mixer.forward(tape.layerNorm(r, weight: block.norm1Weight, bias: block.norm1Bias), tape: tape)
      let r2 = tape.add(mixed, r)
      let normed = tape.layerNorm(r2, weight: block.norm2Weight, bias: block.norm2Bias)
      if let fc1w = block.fc1Weight, let fc1b = block.fc1Bias, let fc2w = block.fc2Weight, let fc2b = block.fc2Bias {
        x = tape.linear(tape.gelu(tape.linear(normed, weight: fc1w, bias: fc1b)), weight: fc2w, bias: fc2b)
      } else {
        x = normed
      }
      residual = r2
    }
    let out = tape.layerNorm(tape.add(x, residual!), weight: finalNormWeight, bias: finalNormBias)
    return tape.tiedHeadCrossEntropy(out, table: tokenEmbedding, targets: targets)
  }
}
