import ZooSupport

/// A Megatron-LM / GPT-NeoX indexed dataset (`PREFIX.idx` + `PREFIX.bin`, "MMIDIDX"), opened and
/// checked; ``readDocument(_:vocabularySize:into:)`` gives one document's ids.
///
/// Layout (little-endian), as GPT-NeoX's `megatron/data/indexed_dataset.py` and Megatron-LM's
/// `megatron/core/datasets/indexed_dataset.py` write it:
///
///     .idx  "MMIDIDX\0\0"  u64 version = 1  u8 dtype code  u64 N (sequences)  u64 D + 1
///           int32 sizes[N]  int64 pointers[N]  int64 doc_idx[D + 1]
///     .bin  the sequences' ids back to back, in the dtype
///
/// `pointers[i]` is the byte offset of sequence `i` in `.bin`; document `d` is sequences
/// `doc_idx[d] ..< doc_idx[d + 1]`. Opening checks everything but the ids themselves: the magic,
/// the version, an integer dtype, the `.idx` length against its header, sizes not negative,
/// sequences stored back to back from byte 0 (every writer does so) and filling `.bin` exactly,
/// and `doc_idx` starting at 0, never decreasing and ending at N. A document with no sequences
/// (Megatron-LM writes one for an empty text) is an empty document. Both files are mapped, not
/// read: only `.idx`'s three arrays are walked at open.
///
/// Immutable after opening, so it may be read from several threads.
public final class MegatronDataset: @unchecked Sendable {
  /// Element types of `.bin` that hold token ids (codes 6 and 7, float64 and float32, do not).
  public enum DType: UInt8, Sendable {
    case uint8 = 1, int8 = 2, int16 = 3, int32 = 4, int64 = 5, uint16 = 8

    /// Bytes per id.
    public var itemSize: Int {
      switch self {
      case .uint8, .int8: 1
      case .int16, .uint16: 2
      case .int32: 4
      case .int64: 8
      }
    }
  }

  /// The prefix, without `.idx` or `.bin`.
  public let prefix: String
  /// `PREFIX.idx`.
  public let indexPath: String
  /// `PREFIX.bin`.
  public let dataPath: String
  /// The ids' element type.
  public let dtype: DType
  /// Number of sequences (N).
  public let sequenceCount: Int
  /// Number of documents (D).
  public let documentCount: Int
  /// Number of ids in `.bin`.
  public let tokenCount: Int

  let index: MappedFile
  let data: MappedFile

  /// The 9-byte magic that starts every `.idx`.
  static let magic: [UInt8] = Array("MMIDIDX".utf8) + [0, 0]
  /// Bytes before `sizes`: magic, version, dtype code and the two counts.
  static let headerSize = 34

  /// `prefix` without a trailing `.bin` or `.idx`: all three name the same dataset.
  public static func prefix(of argument: String) -> String {
    argument.hasSuffix(".bin") || argument.hasSuffix(".idx") ? String(argument.dropLast(4)) : argument
  }

  /// Opens and checks `PREFIX.idx` and `PREFIX.bin`; any defect is a ``MegatronFormatError``
  /// naming the file.
  public init(prefix: String) throws {
    let indexPath = prefix + ".idx"
    let dataPath = prefix + ".bin"
    let index = try MappedFile(path: indexPath)
    self.prefix = prefix
    self.indexPath = indexPath
    self.dataPath = dataPath
    self.index = index
    func bad(_ reason: String) -> MegatronFormatError { MegatronFormatError(path: indexPath, reason: reason) }

    guard index.count >= Self.headerSize else {
      throw bad("truncated: \(index.count) bytes, shorter than the \(Self.headerSize)-byte MMIDIDX header")
    }
    guard Array(index.bytes(0..<9)) == Self.magic else {
      throw bad("not a Megatron indexed dataset index (its first 9 bytes are not MMIDIDX\\0\\0)")
    }
    let version = index.load(9, as: UInt64.self)
    guard version == 1 else { throw bad("MMIDIDX version \(version); only version 1 exists") }
    let code = index.load(17, as: UInt8.self)
    guard let dtype = DType(rawValue: code) else {
      throw bad(code == 6 || code == 7
        ? "dtype code \(code) (\(code == 6 ? "float64" : "float32")) does not hold token ids"
        : "unknown dtype code \(code)")
    }
    self.dtype = dtype
    let sequences = index.load(18, as: UInt64.self)
    let entries = index.load(26, as: UInt64.self)
    // Header + 4 + 8 bytes per sequence + 8 per doc_idx entry, without overflow.
    let limit = UInt64(Int.max / 16)
    guard sequences < limit, entries < limit else {
      throw bad("truncated: \(index.count) bytes for \(sequences) sequences and \(entries) document-index entries")
    }
    let expected = Self.headerSize + 12 * Int(sequences) + 8 * Int(entries)
    guard index.count >= expected else {
      throw bad("truncated: \(index.count) bytes, its header (\(sequences) sequences, \(entries) document-index entries) needs \(expected)")
    }
    guard index.count == expected else {
      throw bad("\(index.count - expected) bytes after the document index (\(expected) expected in all)")
    }
    let sequenceCount = Int(sequences)
    self.sequenceCount = sequenceCount
    guard entries >= 1 else { throw bad("the document index is empty; it starts with 0") }
    let documentCount = Int(entries) - 1
    self.documentCount = documentCount

    var previous = 0
    for d in 0...documentCount {
      let start = index.load(Self.headerSize + 12 * sequenceCount + 8 * d, as: Int64.self)
      if d == 0, start != 0 { throw bad("the document index starts at \(start), not 0") }
      guard start >= previous else {
        throw bad("the document index decreases: entry \(d) is \(start) after \(previous)")
      }
      guard start <= sequenceCount else {
        throw bad("document-index entry \(d) is \(start), past the \(sequenceCount) sequences")
      }
      previous = Int(start)
    }
    guard previous == sequenceCount else {
      throw bad("the document index ends at \(previous), not at the sequence count \(sequenceCount)")
    }

    let data = try MappedFile(path: dataPath)
    self.data = data
    let itemSize = dtype.itemSize
    var next = 0  // where the next sequence must start
    for s in 0..<sequenceCount {
      let size = Int(index.load(Self.headerSize + 4 * s, as: Int32.self))
      let pointer = index.load(Self.headerSize + 4 * sequenceCount + 8 * s, as: Int64.self)
      guard size >= 0 else { throw bad("sequence \(s) has size \(size)") }
      let bytes = size * itemSize
      guard pointer >= 0, pointer <= data.count, data.count - Int(pointer) >= bytes else {
        throw bad("sequence \(s) (\(size) ids at byte \(pointer)) runs past the end of \(dataPath) (\(data.count) bytes)")
      }
      guard pointer == next else {
        throw bad("sequence \(s) starts at byte \(pointer), not \(next) where sequence \(s - 1) ends (sizes × \(itemSize)-byte ids)")
      }
      next += bytes
    }
    guard next == data.count else {
      throw MegatronFormatError(path: dataPath, reason: "\(data.count) bytes, but \(indexPath) describes \(next)")
    }
    tokenCount = next / itemSize
  }

  /// Document `d`'s ids (its sequences, concatenated) into `out`, replacing its contents. An id
  /// that is negative or not below `vocabularySize` is a ``MegatronFormatError`` naming `.bin`.
  public func readDocument(_ d: Int, vocabularySize: Int, into out: inout [UInt32]) throws {
    precondition(d >= 0 && d < documentCount, "document \(d) of \(documentCount)")
    let tokens = tokenOffset(sequence: documentStart(d))..<tokenOffset(sequence: documentStart(d + 1))
    out.removeAll(keepingCapacity: true)
    let bad: (position: Int, id: Int64)?
    switch dtype {
    case .uint8: bad = append(UInt8.self, tokens, vocabularySize, &out)
    case .int8: bad = append(Int8.self, tokens, vocabularySize, &out)
    case .int16: bad = append(Int16.self, tokens, vocabularySize, &out)
    case .int32: bad = append(Int32.self, tokens, vocabularySize, &out)
    case .int64: bad = append(Int64.self, tokens, vocabularySize, &out)
    case .uint16: bad = append(UInt16.self, tokens, vocabularySize, &out)
    }
    if let bad {
      let what = bad.id < 0 ? "is negative" : "is not below the tokenizer's vocabulary size \(vocabularySize)"
      throw MegatronFormatError(path: dataPath, reason: "id \(bad.id) at token \(bad.position) (document \(d)) \(what)")
    }
  }

  /// sha256 of `.idx`'s bytes followed by `.bin`'s, as one stream (`cat PREFIX.idx PREFIX.bin |
  /// sha256sum`): the `source_sha256` of the store made from this dataset.
  public func sourceSHA256() -> String {
    var hasher = SHA256()
    for file in [index, data] {
      var start = 0
      while start < file.count {
        let end = min(file.count, start + (1 << 24))
        hasher.update(file.bytes(start..<end))
        start = end
      }
    }
    return hasher.finalizeHex()
  }

  /// Sequence index where document `d` starts (`doc_idx[d]`; `d == documentCount` gives N).
  func documentStart(_ d: Int) -> Int {
    Int(index.load(Self.headerSize + 12 * sequenceCount + 8 * d, as: Int64.self))
  }

  /// Index in `.bin` (in ids) of sequence `s`'s first id; `s == sequenceCount` gives the end.
  func tokenOffset(sequence s: Int) -> Int {
    s == sequenceCount ? tokenCount : Int(index.load(Self.headerSize + 4 * sequenceCount + 8 * s, as: Int64.self)) / dtype.itemSize
  }

  /// Appends the ids `tokens` of `.bin` read as `T`; returns the first out-of-range one.
  private func append<T: FixedWidthInteger>(
    _: T.Type, _ tokens: Range<Int>, _ vocabularySize: Int, _ out: inout [UInt32]
  ) -> (position: Int, id: Int64)? {
    let size = MemoryLayout<T>.size
    let raw = data.bytes(tokens.lowerBound * size..<tokens.upperBound * size)
    out.reserveCapacity(tokens.count)
    for i in 0..<tokens.count {
      let id = T(littleEndian: raw.loadUnaligned(fromByteOffset: i * size, as: T.self))
      guard id >= 0, id < vocabularySize else { return (tokens.lowerBound + i, Int64(id)) }
      out.append(UInt32(truncatingIfNeeded: id))
    }
    return nil
  }
}

/// A defect in a Megatron indexed dataset; the message names the file.
public struct MegatronFormatError: Error, CustomStringConvertible, Equatable {
  /// The `.idx` or `.bin` at fault.
  public var path: String
  /// What is wrong with it.
  public var reason: String

  /// A one-line message.
  public var description: String { "\(path): \(reason)" }
}
