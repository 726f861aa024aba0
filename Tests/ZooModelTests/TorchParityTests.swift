import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

/// A dump written by `Fixtures/make_torch_reference.py`.
struct TorchReference {
  struct Entry: Decodable {
    let name: String
    let shape: [Int]
    let offset: Int
    let count: Int
  }
  struct Meta: Decodable {
    let batch: Int
    let length: Int
    let inputs: [Int32]
    let targets: [Int32]
    let loss: Double
    let tensors: [Entry]
    let config: [String: JSONValue]
  }
  let meta: Meta
  let floats: [Float]

  init(_ name: String) throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: dir.appendingPathComponent(name + ".json")))
    let data = try Data(contentsOf: dir.appendingPathComponent(name + ".bin"))
    floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  func tensor(_ name: String) -> [Float]? {
    meta.tensors.first { $0.name == name }.map { Array(floats[$0.offset..<($0.offset + $0.count)]) }
  }

}

/// Builds our model with the reference's weights. Most fixtures' configs have the flat keys of
/// configs stored before the mixer catalogue, which `ModelConfig` still reads; newer ones list
/// `mixers`, one config per layer.
func model(from reference: TorchReference) throws -> LanguageModel {
  let config = try JSONValue.object(reference.meta.config).decode(ModelConfig.self)
  let lm = try LanguageModel(config: config, seed: 0)
  for p in lm.parameters {
    let values = try #require(reference.tensor("param:" + p.name), "reference lacks \(p.name)")
    #expect(values.count == p.tensor.count, "\(p.name)")
    _ = p.tensor.value.update(fromContentsOf: values)
  }
  // Every reference parameter is one of ours.
  let ours = Set(lm.parameters.map { "param:" + $0.name })
  #expect(reference.meta.tensors.filter { $0.name.hasPrefix("param:") }.allSatisfy { ours.contains($0.name) })
  return lm
}

@Suite struct TorchParityTests {
  /// Loss, per-token losses and every parameter gradient equal PyTorch's (float64 reference).
  @Test(arguments: ["attention", "base_conv", "hyena", "based", "rwkv", "mamba", "h3", "retnet", "sliding_window_attention", "long_conv", "gla", "mamba2", "rwkv7",
    "delta_net", "gated_delta_net",
  ])
  func modelMatchesPyTorch(mixer: String) throws {
    let reference = try TorchReference(mixer)
    let lm = try model(from: reference)
    let tape = Tape()
    let out = lm.loss(
      inputs: reference.meta.inputs, targets: reference.meta.targets, batch: reference.meta.batch,
      length: reference.meta.length, tape: tape)
    tape.backward()
    #expect(abs(out.mean - reference.meta.loss) < 1e-5 * reference.meta.loss, "loss \(out.mean) vs \(reference.meta.loss)")
    let perToken = try #require(reference.tensor("per_token_loss"))
    for (i, (a, b)) in zip(out.perToken, perToken).enumerated() where reference.meta.targets[i] >= 0 {
      #expect(abs(a - b) < 1e-4, "token \(i): \(a) vs \(b)")
    }
    for p in lm.parameters {
      let expected = try #require(reference.tensor("grad:" + p.name))
      let got = p.tensor.gradArray
      let scale = expected.map { abs($0) }.max() ?? 0
      let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
      #expect(worst <= 1e-6 + 2e-3 * scale, "\(p.name): max |diff| \(worst), max |grad| \(scale)")
    }
  }

  @Test func parameterCountMatchesZoology() throws {
    // torch_ref's bench model (../shared/bench/results/torch_ref_bench.json): 6,862,464 parameters.
    let lm = try LanguageModel(config: ModelConfig(mixer: "attention", layers: 2, dModel: 128, vocabSize: 50257, maxPositions: 256), seed: 1)
    #expect(lm.parameterCount == 6_862_464)
  }

  /// Forward and backward of every fixture's model split their work on 2 threads (checked) and give
  /// the same bits as on 1.
  @Test(arguments: ["attention", "base_conv", "hyena", "based", "rwkv", "mamba", "h3", "retnet", "sliding_window_attention", "gla", "mamba2", "rwkv7",
    "delta_net", "gated_delta_net",
  ])
  func sameResultsWithOneAndTwoThreads(mixer: String) throws {
    let reference = try TorchReference(mixer)
    var results: [(Double, [[Float]])] = []
    for threads in [1, 2] {
      let lm = try model(from: reference)
      let (loss, splits) = ParallelSplits.counting {
        let tape = Tape(threads: threads)
        let out = lm.loss(
          inputs: reference.meta.inputs, targets: reference.meta.targets, batch: reference.meta.batch,
          length: reference.meta.length, tape: tape)
        tape.backward()
        return out.mean
      }
      #expect((splits > 0) == (threads > 1), "\(mixer) on \(threads) threads: \(splits) split calls")
      results.append((loss, lm.parameters.map(\.tensor.gradArray)))
    }
    #expect(results[0].0 == results[1].0)
    #expect(results[0].1 == results[1].1)
  }

  @Test func badConfigsAreClearErrors() {
    #expect(throws: ModelError.self) { try ModelConfig(mixer: "nope", layers: 2) }
    #expect(throws: ModelError.self) {
      try LanguageModel(config: ModelConfig(mixer: "attention", layers: 2, options: ["num_heads": .int(4)], dModel: 30), seed: 0)
    }
  }
}
