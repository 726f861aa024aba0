import Foundation
import ZooModel
import ZooSupport
import ZooTensor

/// A training checkpoint of either trainer: the run's config, the step reached, the loop's own
/// running values (MQAR's best accuracy so far, ...), every parameter and the AdamW moments, bit
/// for bit, so a resumed run ends with the same weights as an uninterrupted one.
///
/// Layout: `ZOOCKPT1`, a little-endian UInt64 header length, the JSON header (`config`, `kind`,
/// `step`, `state`, `parameters`, `counts`), then float32 values: all parameters in model order,
/// then all first moments, then all second moments. Written to a temporary file and renamed.
/// Headers written before MQAR runs had checkpoints have no `kind` and `state`: they are `lm`.
public enum Checkpoint {
  static let magic = Array("ZOOCKPT1".utf8)

  struct Header<Config: Codable>: Codable {
    var config: Config
    var kind: String?
    var step: Int
    var state: [String: Double]?
    var parameters: [String]
    var counts: [Int]
  }

  /// Saves the model and optimizer after `step` steps of a `kind` run (`lm`, `mqar`).
  public static func save<Config: Codable>(
    path: String, kind: String, config: Config, step: Int, state: [String: Double] = [:], model: LanguageModel,
    optimizer: AdamW
  ) throws {
    let header = Header(
      config: config, kind: kind, step: step, state: state, parameters: model.parameters.map(\.name),
      counts: model.parameters.map(\.tensor.count))
    let json = try header.canonicalJSONData()  // the same bytes for the same state, in any process
    var data = Data(magic)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    for p in model.parameters { data.append(UnsafeBufferPointer(p.tensor.value)) }
    for m in optimizer.firstMoments { m.withUnsafeBufferPointer { data.append($0) } }
    for v in optimizer.secondMoments { v.withUnsafeBufferPointer { data.append($0) } }
    try AtomicFile.write(data, to: path)
  }

  /// What a checkpoint holds.
  public struct Loaded<Config> {
    public var config: Config
    public var kind: String
    public var step: Int
    /// The loop's running values at `step`.
    public var state: [String: Double]
    /// Parameter names, in model order.
    public var names: [String]
    public var values: [[Float]]
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]

    /// Puts the weights and moments into `model` and `optimizer` (built from `config`).
    public func restore(into model: LanguageModel, optimizer: AdamW, path: String) throws {
      guard names == model.parameters.map(\.name), zip(values, model.parameters).allSatisfy({ $0.count == $1.tensor.count }) else {
        throw ModelError.badCheckpoint(path: path, reason: "its parameters do not match its model config")
      }
      for (p, v) in zip(model.parameters, values) { _ = p.tensor.value.update(fromContentsOf: v) }
      optimizer.restore(step: step, firstMoments: firstMoments, secondMoments: secondMoments)
    }
  }

  /// The kind of run a checkpoint belongs to (`lm` for checkpoints written before it was stored).
  public static func kind(path: String) throws -> String {
    try load(path: path, as: JSONValue.self).kind
  }

  /// Reads a checkpoint whose config is a `Config`.
  public static func load<Config: Codable>(path: String, as: Config.Type) throws -> Loaded<Config> {
    func bad(_ reason: String) -> ModelError { .badCheckpoint(path: path, reason: reason) }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw bad("cannot read it") }
    guard data.count >= 16, Array(data.prefix(8)) == magic else { throw bad("wrong magic") }
    let length = data.subdata(in: 8..<16).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    guard length < data.count - 16 else { throw bad("truncated header") }
    let headerEnd = 16 + Int(length)
    let header: Header<Config>
    do { header = try JSONDecoder().decode(Header<Config>.self, from: data.subdata(in: 16..<headerEnd)) } catch {
      throw bad("unreadable header (or the config of another kind of run)")
    }
    let total = header.counts.reduce(0, +)
    guard data.count == headerEnd + 3 * total * 4 else { throw bad("expected \(3 * total) floats after the header") }
    var offset = headerEnd
    func read(_ count: Int) -> [Float] {
      let values = data.subdata(in: offset..<(offset + count * 4)).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      offset += count * 4
      return values
    }
    let values = header.counts.map(read)
    let first = header.counts.map(read)
    let second = header.counts.map(read)
    return Loaded(
      config: header.config, kind: header.kind ?? "lm", step: header.step, state: header.state ?? [:],
      names: header.parameters, values: values, firstMoments: first, secondMoments: second)
  }
}
