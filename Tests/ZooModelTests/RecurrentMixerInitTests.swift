import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

/// RWKV's, RWKV-7's and Mamba's special initializations, read back from a built model.
@Suite struct RecurrentMixerInitTests {
  /// docs/MODELS.md, "RWKV", with Zoology's `n_layer = 12`, for blocks 0 and 1.
  @Test func rwkvFollowsZoologysConstructor() throws {
    let d = 8
    let model = try LanguageModel(config: try ModelConfig(mixer: "rwkv", layers: 2, dModel: d, vocabSize: 11, maxPositions: 0), seed: 1)
    for layer in 0..<2 {
      func values(_ name: String) throws -> [Float] {
        try #require(model.parameter(named: "backbone.layers.\(layer).sequence_mixer.\(name)")).array
      }
      let r01 = Double(layer) / 11
      let r10 = 1 - Double(layer) / 12
      let (decay, first) = (try values("time_decay"), try values("time_first"))
      let (mixK, mixV, mixR) = (try values("time_mix_k"), try values("time_mix_v"), try values("time_mix_r"))
      for c in 0..<d {
        let x = Double(c) / Double(d)
        let expected = [
          -5 + 8 * pow(Double(c) / Double(d - 1), 0.7 + 1.3 * r01), log(0.3) + 0.5 * Double((c + 1) % 3 - 1),
          pow(x, r10), pow(x, r10) + 0.3 * r01, pow(x, 0.5 * r10),
        ]
        let got = [decay[c], first[c], mixK[c], mixV[c], mixR[c]]
        for (g, e) in zip(got, expected) { #expect(abs(Double(g) - e) < 1e-6, "layer \(layer), channel \(c): \(got) vs \(expected)") }
      }
    }
    #expect(model.parameter(named: "backbone.layers.0.sequence_mixer.time_mix_k")?.shape == [1, 1, d])
    #expect(model.parameter(named: "backbone.layers.1.sequence_mixer.output.weight")?.shape == [d, d])
  }

  /// docs/MODELS.md, "RWKV-7": Zoology's model init leaves `x_x`, `k_k`, `k_a`, `r_k` at zero and redraws the
  /// linears N(0, 0.02); with `k_k = 0` the low-rank term is off and `k_k` gets exactly zero gradient, while
  /// the token shift and `k_a` learn.
  @Test func rwkv7FollowsZoologysModelInit() throws {
    let d = 16
    let config = try ModelConfig(mixer: "rwkv7", layers: 1, options: ["head_dim": .int(8)], dModel: d, vocabSize: 11, maxPositions: 0)
    let model = try LanguageModel(config: config, seed: 1)
    func values(_ name: String) throws -> Tensor { try #require(model.parameter(named: "backbone.layers.0.sequence_mixer.\(name)")) }
    for name in ["x_x", "k_k", "k_a", "r_k", "w_lora.lora.2.bias", "a_lora.lora.2.bias", "g_norm.bias"] {
      #expect(try values(name).array.allSatisfy { $0 == 0 }, "\(name)")
    }
    #expect(try values("g_norm.weight").array.allSatisfy { $0 == 1 })
    let projection = try values("o_proj.weight").array.map(Double.init)
    let std = (projection.reduce(0) { $0 + $1 * $1 } / Double(projection.count)).squareRoot()
    #expect(abs(std - 0.02) < 0.004, "o_proj std \(std)")
    let ids: [Int32] = (0..<24).map { Int32($0 * 7 % 11) }
    let tape = Tape()
    _ = model.loss(inputs: Array(ids.prefix(23)), targets: Array(ids.dropFirst()), batch: 1, length: 23, tape: tape)
    tape.backward()
    #expect(try values("k_k").gradArray.allSatisfy { $0 == 0 })
    #expect(try values("k_a").gradArray.contains { $0 != 0 } && values("x_x").gradArray.contains { $0 != 0 })
  }

  /// S4D-real `A_log`, `D = 1`, and step sizes softplus(dt bias) spread over [10⁻³, 10⁻¹].
  @Test func mambaFollowsMambasInit() throws {
    let (d, states) = (32, 4)
    let config = try ModelConfig(mixer: "mamba", layers: 1, options: ["d_state": .int(states)], dModel: d, vocabSize: 11, maxPositions: 0)
    let model = try LanguageModel(config: config, seed: 1)
    func values(_ name: String) throws -> Tensor { try #require(model.parameter(named: "backbone.layers.0.sequence_mixer.\(name)")) }
    let aLog = try values("A_log")
    #expect(aLog.shape == [2 * d, states])
    for i in 0..<aLog.count { #expect(abs(aLog.value[i] - Float(log(Double(i % states + 1)))) < 1e-7) }
    #expect(try values("D").array == [Float](repeating: 1, count: 2 * d))
    let steps = try values("dt_proj.bias").array.map { log1p(exp(Double($0))) }
    #expect(steps.allSatisfy { $0 >= 1e-3 * 0.999 && $0 <= 1e-1 * 1.001 })
    #expect(steps.min()! < 5e-3 && steps.max()! > 5e-2)
    #expect(try values("dt_proj.weight").shape == [2 * d, 2])  // dt_rank = ⌈32/16⌉
    #expect(try values("x_proj.weight").shape == [2 + 2 * states, 2 * d])
    #expect(try values("conv1d.weight").array.allSatisfy { abs($0) <= 0.5 })
  }
}
