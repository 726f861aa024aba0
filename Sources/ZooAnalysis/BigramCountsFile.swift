import Foundation
import ZooStorage
import ZooSupport

/// What a bigram counts file says about itself: a JSON header after the magic bytes.
public struct BigramCountsHeader: Codable, Sendable, Equatable {
  /// One counted token store.
  public struct Source: Codable, Sendable, Equatable {
    /// The store's file name.
    public var file: String
    /// Tokens read from it.
    public var tokens: Int

    /// Memberwise.
    public init(file: String, tokens: Int) {
      self.file = file
      self.tokens = tokens
    }
  }

  /// `zoo.bigrams.v1`.
  public var format = BigramCountsFile.format
  /// `exact`, or `count-min` when the exact table did not fit the budget.
  public var mode: String
  /// Bigrams counted (`N`).
  public var bigrams: UInt64
  /// Distinct bigrams (exact mode only).
  public var distinct: Int?
  /// Count-min error: estimates exceed true counts by at most `epsilon · bigrams` …
  public var epsilon: Double?
  /// … with probability at least `1 − delta` per query (count-min mode only).
  public var delta: Double?
  /// Sketch shape (count-min mode only).
  public var width: Int?
  /// Sketch rows (count-min mode only).
  public var depth: Int?
  /// The memory budget counting ran under, in bytes.
  public var budgetBytes: Int
  /// Whether bigrams starting with the end-of-text id (spanning two documents) were counted.
  public var acrossDocuments: Bool
  /// What the counted ids mean (absent in files written before it was recorded: GPT-2 ids).
  public var vocabulary: TokenVocabulary?
  /// The counted stores.
  public var sources: [Source]
  /// Creation time (ISO 8601).
  public var createdAt: String
  /// The toolkit version that wrote the file.
  public var zooVersion: String
}

/// The bigram counts file written by `zoo-analyze bigrams` and read by `zoo-analyze gap --bigrams`:
///
/// ```
/// "ZOOBIGR1"            8 bytes
/// header length         UInt64, little endian
/// header                JSON (BigramCountsHeader)
/// exact:      per distinct bigram, sorted by key: key UInt32, count UInt32 (little endian)
/// count-min:  depth × width UInt32 counters, row-major (little endian)
/// ```
public enum BigramCountsFile {
  /// The format name in the header.
  public static let format = "zoo.bigrams.v1"
  private static let magic = Data("ZOOBIGR1".utf8)

  /// The header describing `counts`.
  public static func header(
    for counts: BigramCounts, acrossDocuments: Bool, vocabulary: TokenVocabulary, sources: [BigramCountsHeader.Source]
  ) -> BigramCountsHeader {
    BigramCountsHeader(
      mode: counts.isExact ? "exact" : "count-min", bigrams: counts.total,
      distinct: counts.isExact ? counts.distinct : nil, epsilon: counts.sketch?.epsilon,
      delta: counts.sketch?.delta, width: counts.sketch?.width, depth: counts.sketch?.depth,
      budgetBytes: counts.budgetBytes, acrossDocuments: acrossDocuments, vocabulary: vocabulary, sources: sources,
      createdAt: ISO8601DateFormatter().string(from: Date()), zooVersion: zooVersion)
  }

  /// Writes `counts` with `header` to `path` atomically.
  public static func write(_ counts: BigramCounts, header: BigramCountsHeader, to path: String) throws {
    let json = try header.canonicalJSONData()
    var data = magic
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    if let sketch = counts.sketch {
      sketch.cells.withUnsafeBufferPointer { cells in
        for cell in cells { withUnsafeBytes(of: cell.littleEndian) { data.append(contentsOf: $0) } }
      }
    } else {
      for entry in counts.sortedEntries() ?? [] {
        withUnsafeBytes(of: entry.key.littleEndian) { data.append(contentsOf: $0) }
        withUnsafeBytes(of: entry.count.littleEndian) { data.append(contentsOf: $0) }
      }
    }
    try AtomicFile.write(data, to: path)
  }

  /// Reads a counts file.
  public static func read(path: String) throws -> (counts: BigramCounts, header: BigramCountsHeader) {
    func bad(_ reason: String) -> AnalysisError { .badBigramFile(file: path, reason: reason) }
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw bad("cannot read it (\(error.localizedDescription))")
    }
    guard data.count >= 16, data.prefix(8) == magic else { throw bad("missing ZOOBIGR1 magic") }
    let headerLength = Int(clamping: data.loadLittleEndianUInt64(at: 8))
    guard headerLength <= data.count - 16 else { throw bad("header length \(headerLength) past the end") }
    let header: BigramCountsHeader
    do {
      header = try JSONDecoder().decode(BigramCountsHeader.self, from: data.subdata(in: 16..<(16 + headerLength)))
    } catch { throw bad("unreadable header (\(error))") }
    guard header.format == format else { throw bad("format \(header.format), expected \(format)") }
    let payload = data.subdata(in: (16 + headerLength)..<data.count)
    let words = payload.count / 4
    guard payload.count % 4 == 0 else { throw bad("payload of \(payload.count) bytes is not whole UInt32s") }
    let values = payload.withUnsafeBytes { raw in (0..<words).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
    switch header.mode {
    case "exact":
      guard words % 2 == 0, words / 2 == header.distinct else {
        throw bad("\(words / 2) entries, header says \(header.distinct.map(String.init) ?? "none")")
      }
      let entries = (0..<(words / 2)).map { (key: values[2 * $0], count: values[2 * $0 + 1]) }
      return (BigramCounts(entries: entries, total: header.bigrams, budgetBytes: header.budgetBytes), header)
    case "count-min":
      guard let width = header.width, let depth = header.depth, width >= 2, width & (width - 1) == 0, depth >= 1,
        width * depth == words
      else { throw bad("sketch shape does not match \(words) counters") }
      return (BigramCounts(sketch: CountMinSketch(width: width, depth: depth, cells: values), total: header.bigrams), header)
    default:
      throw bad("unknown mode \(header.mode)")
    }
  }
}

extension Data {
  fileprivate func loadLittleEndianUInt64(at offset: Int) -> UInt64 {
    withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
  }
}

/// Streams token stores through ``BigramCounts`` a chunk at a time.
public enum BigramCounting {
  /// Counts the bigrams of every store (no bigram spans two stores) within `budgetBytes`;
  /// `progress` gets the tokens read so far.
  public static func count(
    stores: [any TokenSource], budgetBytes: Int, delta: Double = 0.01, acrossDocuments: Bool = true,
    chunkTokens: Int = 1 << 20, progress: (Int) -> Void = { _ in }
  ) throws -> (counts: BigramCounts, vocabulary: TokenVocabulary, sources: [BigramCountsHeader.Source]) {
    guard let vocabulary = stores.first?.vocabulary else { throw AnalysisError.invalidRequest("no training stores given") }
    for store in stores {
      guard store.vocabulary.sameTokens(as: vocabulary) else {
        throw AnalysisError.tokenStoreMismatch(
          file: store.path, reason: "holds \(store.vocabulary.summary) ids but \(stores[0].path) holds \(vocabulary.summary)")
      }
      guard store.vocabulary.vocabularySize <= BigramCounts.maxVocabularySize else {
        throw AnalysisError.tokenStoreMismatch(
          file: store.path, reason: "\(store.vocabulary.summary): bigram counts take vocabularies of up to \(BigramCounts.maxVocabularySize) ids")
      }
    }
    var counts = BigramCounts(budgetBytes: budgetBytes, delta: delta)
    var buffer = [UInt32](repeating: 0, count: chunkTokens)
    var done = 0
    var sources: [BigramCountsHeader.Source] = []
    for store in stores {
      var previous: UInt32? = nil
      var start = 0
      while start < store.tokenCount {
        let n = min(chunkTokens, store.tokenCount - start)
        try buffer.withUnsafeMutableBufferPointer { all in
          let chunk = UnsafeMutableBufferPointer(rebasing: all[0..<n])
          try store.readTokens(start..<(start + n), into: chunk)
          counts.add(
            UnsafeBufferPointer(chunk), after: previous, acrossDocuments: acrossDocuments, endOfText: vocabulary.endOfText)
          previous = chunk[n - 1]
        }
        start += n
        done += n
        progress(done)
      }
      sources.append(.init(file: URL(fileURLWithPath: store.path).lastPathComponent, tokens: store.tokenCount))
    }
    return (counts, vocabulary, sources)
  }
}
