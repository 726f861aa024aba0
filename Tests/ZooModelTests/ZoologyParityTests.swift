import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

/// A dump of one of Zoology's own mixer modules, written by `Fixtures/make_zoology_reference.py` (the delta
/// nets' by `Fixtures/make_delta_rule_reference.py`), or (from `Fixtures/fla`) of flash-linear-attention's,
/// written by `Fixtures/make_fla_reference.py` (the delta rules' by `make_delta_rule_reference.py`) in the same format.
struct ZoologyReference {
  struct Entry: Decodable {
    let name: String
    let offset: Int
    let count: Int
  }
  struct Meta: Decodable {
    let config: [String: JSONValue]
    let batch: Int
    let length: Int
    let tensors: [Entry]
  }
  let meta: Meta
  let floats: [Float]

  init(_ name: String, folder: String = "zoology") throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/" + folder)
    meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: dir.appendingPathComponent(name + ".json")))
    let data = try Data(contentsOf: dir.appendingPathComponent(name + ".bin"))
    floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  func tensor(_ name: String) -> [Float]? {
    meta.tensors.first { $0.name == name }.map { Array(floats[$0.offset..<($0.offset + $0.count)]) }
  }

  func int(_ key: String) -> Int { if case .int(let v) = meta.config[key] { v } else { 0 } }

  func double(_ key: String) -> Double? {
    switch meta.config[key] {
    case .int(let v): Double(v)
    case .double(let v): v
    default: nil
    }
  }
}

/// The mixer of a Zoology reference (the only place this file builds one): its name and the
/// options its config gives that the mixer has, in a model of width `d_model` and length `l_max`.
private func mixer(_ reference: ZoologyReference) throws -> (config: any MixerConfig, dModel: Int) {
  guard case .string(let name)? = reference.meta.config["mixer"] else { throw ModelError.invalidConfig("no mixer") }
  let offered = MixerCatalogue.optionNames(of: try MixerCatalogue.config(named: name))
  let options = reference.meta.config.filter { offered.contains($0.key) }
  let config = try MixerCatalogue.layers(names: [name], count: 1, options: options)[0]
  let dModel = reference.int("d_model")
  try ModelConfig(mixers: [config], dModel: dModel, vocabSize: 2, maxPositions: 0, lMax: reference.int("l_max")).validate()
  return (config, dModel)
}

/// Zoo's mixer with the weights of the reference's module gives its output and the gradients of its
/// input and of every parameter, each within `1e-6 + relative · max |value|`.
func expectMixerMatches(_ reference: ZoologyReference, name: String, relative: Float = 2e-3) throws {
  let (config, d) = try mixer(reference)
  let mixer = config.makeMixer(context: MixerContext(dModel: d, lMax: reference.int("l_max"), layer: 0, layers: 1))
  for p in mixer.parameters {
    let values = try #require(reference.tensor("param:" + p.name), "\(name): the reference module lacks \(p.name)")
    try #require(values.count == p.tensor.count, "\(name): \(p.name) has \(values.count) values, ours \(p.tensor.count)")
    _ = p.tensor.value.update(fromContentsOf: values)
  }
  let ours = Set(mixer.parameters.map { "param:" + $0.name })
  let theirs = reference.meta.tensors.map(\.name).filter { $0.hasPrefix("param:") }
  #expect(theirs.allSatisfy { ours.contains($0) }, "\(name): reference parameters we lack: \(theirs.filter { !ours.contains($0) })")

  let (batch, length) = (reference.meta.batch, reference.meta.length)
  let x = Tensor(try #require(reference.tensor("input")), shape: [batch, length, d], requiresGrad: true)
  let tape = Tape()
  let y = mixer.forward(x, tape: tape)
  _ = y.grad.update(fromContentsOf: try #require(reference.tensor("grad_output")))
  tape.backward()

  var checks = [("output", y.array, try #require(reference.tensor("output"))), ("grad:input", x.gradArray, try #require(reference.tensor("grad:input")))]
  for p in mixer.parameters { checks.append(("grad:" + p.name, p.tensor.gradArray, try #require(reference.tensor("grad:" + p.name)))) }
  for (what, got, expected) in checks {
    let scale = expected.map { abs($0) }.max() ?? 0
    let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1e-6 + relative * scale, "\(name) \(what): max |diff| \(worst), max |value| \(scale)")
  }
}

@Suite struct ZoologyParityTests {
  /// Against Zoology's own modules (HazyResearch/zoology d88d6f5, run in float64). RWKV's module runs
  /// only on CUDA (see the script); it is checked against Zoo's PyTorch twin in TorchParityTests. RWKV-7's
  /// runs with fla's pure-PyTorch `dplr_recurrence` for fla's Triton `chunk_rwkv7` (Zoo's side runs
  /// its chunked form, chunks of 5 over length 12). DeltaNet's and Gated DeltaNet's run with fla's naive
  /// recurrences in place of its Triton kernels (80 tokens: two of Zoo's 64-token chunks), with and
  /// without their output gate.
  @Test(arguments: [
    "attention", "base_conv_short", "base_conv_long", "hyena", "based", "h3", "mamba", "rwkv7", "delta_net", "delta_net_gate",
    "gated_delta_net", "gated_delta_net_gate",
  ])
  func mixerMatchesZoologysModule(name: String) throws {
    try expectMixerMatches(ZoologyReference(name), name: name)
  }
}
