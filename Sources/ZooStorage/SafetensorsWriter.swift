import Foundation
import ZooSupport

/// Writes the safetensors format (Hugging Face's; what `safetensors.torch.load_file` reads): an
/// 8-byte little-endian header length `n`, a JSON header of `n` bytes (padded with spaces to a
/// multiple of 8) mapping each tensor's name to its `dtype` (`F32`), `shape` and `data_offsets`
/// (begin and end in bytes, relative to the end of the header), plus an optional
/// `__metadata__` object of strings, then the tensors' raw little-endian values, contiguous, in
/// the order given. Written to a temporary file and renamed.
public enum SafetensorsWriter {
  /// One float32 tensor.
  public struct Tensor {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
      precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) for \(values.count) values")
      self.name = name
      self.shape = shape
      self.values = values
    }
  }

  /// The file's bytes.
  public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) -> Data {
    var entries: [String] = []
    if !metadata.isEmpty {
      let fields = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
      entries.append("\"__metadata__\":{\(fields.joined(separator: ","))}")
    }
    var offset = 0
    for t in tensors {
      let end = offset + 4 * t.values.count
      let shape = t.shape.map(String.init).joined(separator: ",")
      entries.append("\(jsonString(t.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
      offset = end
    }
    var header = Array("{\(entries.joined(separator: ","))}".utf8)
    header += [UInt8](repeating: UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
    var data = Data(capacity: 8 + header.count + offset)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(contentsOf: header)
    for t in tensors {
      t.values.withUnsafeBufferPointer { buffer in
        #if _endian(big)
          for v in buffer { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        #else
          data.append(buffer)
        #endif
      }
    }
    return data
  }

  /// Writes `tensors` to `path` atomically.
  public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
    try AtomicFile.write(encode(tensors, metadata: metadata), to: path)
  }

  /// `s` as a JSON string literal.
  static func jsonString(_ s: String) -> String {
    String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
  }
}
