import Foundation
import ZooTensor

/// RWKV-7 "Goose" time mixing (Zoology's `mixers/rwkv7.py`, `RWKV7Attention`, which calls
/// flash-linear-attention's `chunk_rwkv7`; docs/MODELS.md, "RWKV-7"). With `x'` the input shifted
/// one step later and `x_∗ = x + μ_∗ ⊙ (x' − x)` (the six rows of `x_x`, for r, w, k, v, a, g):
///
///     r = W_r x_r,  k = W_k x_k,  v = W_v x_v                    no biases
///     log w = −e^{−0.5} · σ(W_w2 tanh(W_w1 x_w) + b_w)            decay LoRA (decay_low_rank_dim)
///     α = σ(W_a2 W_a1 x_a + b_a)                                  in-context learning rate (a_low_rank_dim)
///     g = W_g2 σ(W_g1 x_g)                                        output gate (gate_low_rank_dim), no bias
///     κ̂ = l2norm_head(k ⊙ k_k),  k̃ = k ⊙ (1 + (α − 1) ⊙ k_a)
///     o = generalizedDeltaRule(q = r, log w, k̃, v, a = −κ̂, b = κ̂ ⊙ α)   per head of head_dim
///     y = W_o ((groupNorm_head(o) + (Σ_head r ⊙ k̃ ⊙ r_k) · v) ⊙ g)
///
/// The group norm has eps `head_dim · 10⁻⁵`. Zoology never passes `v_first` between layers, so its
/// value residual is off (and its `v_lora`, built for layers after the first, gets no gradient):
/// Zoo leaves both out.
///
/// Initialization as Zoology's model applies it: its `_init_weights` redraws every `nn.Linear`
/// (projections and LoRA factors) N(0, std) with zero biases, after the module's own xavier init;
/// `x_x`, `k_k`, `k_a`, `r_k` stay zero (the module's init reaches only modules), the group norm's
/// weight 1 and bias 0. With `k_k = 0`, `κ̂ = 0`, and since both `a` and `b` are linear in `κ̂`, `k_k`'s
/// gradient is zero too: from this init the low-rank term stays off and training learns the decay,
/// the token shift, `k_a`, `r_k` and the projections.
///
/// Training runs the chunked form (`chunk_size` steps per chunk); state `heads · head_dim²`
/// (Zoology's `state_size`).
public final class RWKV7Mixer: SequenceMixer {
  /// RWKV-7's options (Zoology's `RWKV7Attention` arguments; defaults as Zoology's experiments pass them).
  public struct Config: MixerConfig, Equatable {
    public static let name = "rwkv7"
    public static let summary = "RWKV-7 time mixing: the generalized delta rule with LoRA decay, in-context learning rate, bonus and gate"
    // Zoology's `add_rwkv7` (experiments/models_repo.py): head_dim 64, ranks 16, 64, 16; chunks of 16
    // (fla's `chunk_rwkv7` without a decay bound).
    @MixerOption("channels per head (the state is head_dim × head_dim per head)") public var headDim = 64
    @MixerOption("rank of the decay LoRA") public var decayLowRankDim = 16
    @MixerOption("rank of the output gate LoRA") public var gateLowRankDim = 64
    @MixerOption("rank of the in-context learning rate LoRA") public var aLowRankDim = 16
    @MixerOption("steps per chunk of the chunked (training) form, 1 to 128") public var chunkSize = 16

    public static func defaults(layer: Int) -> Config { Config() }
    /// Two heads at width 8, chunks that do not divide the tests' length 12.
    public static func tiny(layer: Int) -> Config { Config(headDim: 4, decayLowRankDim: 3, gateLowRankDim: 5, aLowRankDim: 2, chunkSize: 5) }

    public func validate(dModel: Int) throws {
      try validateHeads(headDim, dModel: dModel, option: "head_dim")
      try validatePositive(["decay_low_rank_dim": decayLowRankDim, "gate_low_rank_dim": gateLowRankDim, "a_low_rank_dim": aLowRankDim])
      // RWKV-7's decays keep a chunk's product of decays above e^{−0.61·128}, inside the op's range.
      if !(1...128).contains(chunkSize) { throw ModelError.invalidConfig("chunk_size must be in 1...128, got \(chunkSize)") }
    }

    public func makeMixer(context: MixerContext) -> any SequenceMixer { RWKV7Mixer(context: context, config: self) }
  }

  let mix, keyScale, keyMix, bonus: NamedParameter
  let receptance, key, value, output: NamedParameter
  let decayDown, decayUp, decayBias, learningRateDown, learningRateUp, learningRateBias, gateDown, gateUp: NamedParameter
  let normWeight, normBias: NamedParameter
  let d, heads, headDim, chunkSize: Int

  public init(context: MixerContext, config: Config) {
    let d = context.dModel
    (self.d, headDim, heads, chunkSize) = (d, config.headDim, d / config.headDim, config.chunkSize)
    let std = context.std
    mix = NamedParameter("x_x", [6, d], std: nil)
    keyScale = NamedParameter("k_k", [d], std: nil)
    keyMix = NamedParameter("k_a", [d], std: nil)
    bonus = NamedParameter("r_k", [d / config.headDim, config.headDim], std: nil)
    receptance = NamedParameter("r_proj.weight", [d, d], std: std)
    key = NamedParameter("k_proj.weight", [d, d], std: std)
    value = NamedParameter("v_proj.weight", [d, d], std: std)
    output = NamedParameter("o_proj.weight", [d, d], std: std)
    decayDown = NamedParameter("w_lora.lora.0.weight", [config.decayLowRankDim, d], std: std)
    decayUp = NamedParameter("w_lora.lora.2.weight", [d, config.decayLowRankDim], std: std)
    decayBias = NamedParameter("w_lora.lora.2.bias", [d], std: nil)
    learningRateDown = NamedParameter("a_lora.lora.0.weight", [config.aLowRankDim, d], std: std)
    learningRateUp = NamedParameter("a_lora.lora.2.weight", [d, config.aLowRankDim], std: std)
    learningRateBias = NamedParameter("a_lora.lora.2.bias", [d], std: nil)
    gateDown = NamedParameter("g_lora.lora.0.weight", [config.gateLowRankDim, d], std: std)
    gateUp = NamedParameter("g_lora.lora.2.weight", [d, config.gateLowRankDim], std: std)
    normWeight = NamedParameter("g_norm.weight", [d], std: nil, value: 1)
    normBias = NamedParameter("g_norm.bias", [d], std: nil)
  }

  public var parameters: [NamedParameter] {
    [
      mix, keyScale, keyMix, bonus, receptance, key, value, output, decayDown, decayUp, decayBias, learningRateDown,
      learningRateUp, learningRateBias, gateDown, gateUp, normWeight, normBias,
    ]
  }

  /// The generalized delta rule's state, `head_dim × head_dim` per head (Zoology's `state_size`;
  /// like Zoology it leaves out the token shift's previous input, `d` more values).
  public func stateSize(length: Int) -> Int { heads * headDim * headDim }

  public func forward(_ x: Tensor, tape: Tape) -> Tensor {
    let shifted = tape.timeShift(x)
    // x + μ_i ⊙ (x' − x) for the rows r, w, k, v, a, g of x_x.
    func mixed(_ row: Int) -> Tensor { tape.lerp(x, shifted, weight: tape.rows(mix.tensor, row..<(row + 1))) }
    let r = tape.linear(mixed(0), weight: receptance.tensor, bias: nil)
    let decayLoRA = tape.linear(tape.tanh(tape.linear(mixed(1), weight: decayDown.tensor, bias: nil)), weight: decayUp.tensor, bias: decayBias.tensor)
    let logDecay = tape.scale(tape.sigmoid(decayLoRA), by: -Float(Foundation.exp(-0.5)))
    let k = tape.linear(mixed(2), weight: key.tensor, bias: nil)
    let v = tape.linear(mixed(3), weight: value.tensor, bias: nil)
    let learningRateLoRA = tape.linear(tape.linear(mixed(4), weight: learningRateDown.tensor, bias: nil), weight: learningRateUp.tensor, bias: learningRateBias.tensor)
    let learningRate = tape.sigmoid(learningRateLoRA)
    let gate = tape.linear(tape.sigmoid(tape.linear(mixed(5), weight: gateDown.tensor, bias: nil)), weight: gateUp.tensor, bias: nil)
    let kappa = tape.l2NormalizeHeads(tape.scaleColumns(k, by: keyScale.tensor), heads: heads)
    // k̃ = k ⊙ (1 + k_a ⊙ (α − 1)), the lerp from 1 to α.
    let ones = Tensor([Float](repeating: 1, count: k.count), shape: k.shape)
    let keys = tape.multiply(k, tape.lerp(ones, learningRate, weight: keyMix.tensor))
    let state = tape.generalizedDeltaRule(
      q: r, logDecay: logDecay, k: keys, v: v, a: tape.scale(kappa, by: -1), b: tape.multiply(kappa, learningRate), heads: heads,
      form: .chunked(chunkSize))
    let normed = tape.groupNorm(state, groups: heads, weight: normWeight.tensor, bias: normBias.tensor, eps: Float(headDim) * 1e-5)
    let bonusTerm = tape.scaleHeads(v, bySumOf: tape.scaleColumns(tape.multiply(r, keys), by: bonus.tensor), heads: heads)
    return tape.linear(tape.multiply(tape.add(normed, bonusTerm), gate), weight: output.tensor, bias: nil)
  }
}
