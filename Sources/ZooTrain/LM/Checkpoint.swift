import Foundation
import ZooModel
import ZooSupport
import ZooTensor

/// A training checkpoint: the run's config, the step reached, every parameter and the AdamW
/// moments, bit for bit, so a resumed run ends with the same weights as an uninterrupted one.
///
/// Layout: `ZOOCKPT1`, a little-endian UInt64 header length, the JSON header, then float32
/// values: all parameters in model order, then all first moments, then all second moments.
/// Written to a temporary file and renamed.
public enum Checkpoint {
  static let magic = Array("ZOOCKPT1".utf8)

  struct Header: Codable {
    var config: LMTrainingConfig
    var step: Int
    var parameters: [String]
    var counts: [Int]
  }

  /// Saves the model and optimizer after `step` steps.
  public static func save(path: String, config: LMTrainingConfig, step: Int, model: LanguageModel, optimizer: AdamW) throws {
    let header = Header(
      config: config, step: step, parameters: model.parameters.map(\.name), counts: model.parameters.map(\.tensor.count))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]  // the same bytes for the same state, in any process
    let json = try encoder.encode(header)
    var data = Data(magic)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    for p in model.parameters { data.append(UnsafeBufferPointer(p.tensor.value)) }
    for m in optimizer.firstMoments { m.withUnsafeBufferPointer { data.append($0) } }
    for v in optimizer.secondMoments { v.withUnsafeBufferPointer { data.append($0) } }
    try AtomicFile.write(data, to: path)
  }

  /// What a checkpoint holds.
  public struct Loaded {
    public var config: LMTrainingConfig
    public var step: Int
    /// Parameter names, in model order.
    public var names: [String]
    public var values: [[Float]]
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]
  }

  /// Reads a checkpoint.
  public static func load(path: String) throws -> Loaded {
    func bad(_ reason: String) -> ModelError { .badCheckpoint(path: path, reason: reason) }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw bad("cannot read it") }
    guard data.count >= 16, Array(data.prefix(8)) == magic else { throw bad("wrong magic") }
    let length = data.subdata(in: 8..<16).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    guard length < data.count - 16 else { throw bad("truncated header") }
    let headerEnd = 16 + Int(length)
    let header: Header
    do { header = try JSONDecoder().decode(Header.self, from: data.subdata(in: 16..<headerEnd)) } catch {
      throw bad("unreadable header")
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
    return Loaded(config: header.config, step: header.step, names: header.parameters, values: values, firstMoments: first, secondMoments: second)
  }
}
