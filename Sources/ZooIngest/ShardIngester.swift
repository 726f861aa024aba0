import Foundation
import ZooStorage
import ZooSupport
import ZooTokenizer
import ZooTracking

/// Turns Pile shards (`.jsonl.zst`) into token stores, one store per shard (docs/FORMATS.md, "Token store").
///
/// Per shard: hash the source, skip it if its store exists with the same `source_sha256`,
/// stream-decompress, parse lines (bad lines are skipped and counted by reason), tokenize
/// batches of documents on all threads, append them in input order to a temporary store, and
/// rename it into place only when complete. Any error fails that shard alone: its temporary
/// file is removed and the error is returned in its ``ShardResult``.
public struct ShardIngester {
  /// Where stores are written.
  public var outputDirectory: String
  /// Tokenizer threads.
  public var threads: Int
  /// Text bytes collected before a batch is tokenized (bounds memory).
  public var batchBytes = 1 << 20
  /// Lines with problems printed per shard (all are counted).
  public var reportedBadLines = 5
  /// Show a redrawn progress bar (`true`), periodic log lines (`false`), or nothing (`nil`).
  public var progressOnTerminal: Bool? = isatty(STDERR_FILENO) != 0

  private let tokenizer: any Tokenizer
  /// What the stores' ids mean (the tokenizer's vocabulary).
  public let vocabulary: TokenVocabulary
  private let tracker: (any ExperimentTracker)?

  /// An ingester writing into `outputDirectory` with `threads` tokenizer threads; datasets are
  /// recorded in `tracker` when given.
  public init(
    tokenizer: any Tokenizer, outputDirectory: String, threads: Int, tracker: (any ExperimentTracker)?
  ) {
    self.tokenizer = tokenizer
    vocabulary = tokenizer.vocabulary
    self.outputDirectory = outputDirectory
    self.threads = max(1, threads)
    self.tracker = tracker
  }

  /// The store path for a shard: `<out>/<name>.h5`, `name` being the file name without
  /// `.jsonl.zst` (or `.zst`).
  public func outputPath(forShard shard: String) -> String {
    var name = URL(fileURLWithPath: shard).lastPathComponent
    for suffix in [".zst", ".jsonl"] where name.hasSuffix(suffix) { name.removeLast(suffix.count) }
    return URL(fileURLWithPath: outputDirectory).appendingPathComponent(name + ".h5").path
  }

  /// Ingests one shard. Never throws: failures are reported in the result.
  public func ingest(shard: String) -> ShardResult {
    ShardResult.timing(shard: shard, output: outputPath(forShard: shard), run)
  }

  private func run(_ result: inout ShardResult) throws {
    let shardName = URL(fileURLWithPath: result.shard).lastPathComponent
    // The source sha256 decides whether an existing store is up to date; without a store it is
    // needed only at commit, so with several threads it is computed alongside the ingest.
    let outputExists = FileManager.default.fileExists(atPath: result.output)
    let sourceDigest = SourceDigest(shard: result.shard, background: threads > 1 && !outputExists)
    if outputExists, let existing = try? TokenStore(path: result.output),
      existing.vocabulary.sameTokens(as: vocabulary), existing.metadata.sourceSHA256 == (try sourceDigest.value())
    {
      result.status = .upToDate
      result.documents = existing.documentCount
      result.tokens = existing.tokenCount
      try tracker?.recordStoreIfMissing(existing.metadata, at: result.output) {
        Dictionary(uniqueKeysWithValues: try skippedLines(of: result.shard).map { ($0.key.rawValue, $0.value) })
      }
      return
    }
    try AtomicFile.createParentDirectory(of: result.output)
    let reader = try ZstdFileReader(path: result.shard)
    let writer = try TokenStoreWriter(path: result.output, vocabulary: vocabulary)
    var committed = false
    defer { if !committed { writer.abort() } }

    let progress = progressOnTerminal.map {
      Progress(title: shardName, total: Double(reader.compressedSize), forceTerminal: $0)
    }
    var splitter = LineSplitter()
    var batch = DocumentBatch()
    var text: [UInt8] = []
    var reported = 0
    let parser = PileLineParser()

    // With several threads, batch k is tokenized in the background while this thread writes
    // batch k-1 and decodes and parses batch k+1; results are written here, in input order.
    // One thread: all inline.
    var pending: TokenizeJob?

    func write(_ job: TokenizeJob) throws {
      let ids = job.wait()
      for d in 0..<job.batch.count {
        try ids[d].withUnsafeBufferPointer { try writer.appendDocument($0, subset: job.batch.subsets[d]) }
        result.tokens += ids[d].count + 1
      }
      result.documents += job.batch.count
      result.textBytes += job.batch.textBytes
      progress?.update(
        done: Double(reader.compressedBytesRead),
        rates: [.init("MB/s", Double(result.textBytes) / 1e6), .init("tok/s", Double(result.tokens))],
        detail: "\(result.documents) docs")
    }

    func drain() throws {
      if let job = pending {
        pending = nil
        try write(job)
      }
    }

    func flushBatch() throws {
      guard batch.count > 0 else { return }
      if Interrupt.requested { throw IngestError.interrupted(shard: result.shard) }
      let job = TokenizeJob(batch: batch, tokenizer: tokenizer, threads: threads, background: threads > 1)
      batch = DocumentBatch()
      // The previous batch is written while this one is tokenized.
      try drain()
      if threads > 1 { pending = job } else { try write(job) }
    }

    func handle(_ line: UnsafeRawBufferPointer, _ lineNumber: Int, _ byteOffset: Int) throws {
      switch parser.parse(line, text: &text) {
      case .document(let subset):
        batch.append(text: text, subset: subset)
        if batch.textBytes >= batchBytes { try flushBatch() }
      case .skipped(let reason):
        result.skipped[reason, default: 0] += 1
        if reason != .blankLine, reported < reportedBadLines {
          reported += 1
          writeStandardError("zoo-ingest: \(shardName):\(lineNumber) (byte \(byteOffset)): skipped line: \(reason.rawValue)\n")
        }
      }
    }

    try reader.forEachBlock { block in
      try splitter.feed(block, handle)
      if Interrupt.requested { throw IngestError.interrupted(shard: result.shard) }
    }
    try splitter.finish(handle)
    try flushBatch()
    try drain()

    let metadata = try writer.commit(source: shardName, sourceSHA256: try sourceDigest.value(), skippedLines: result.skippedLines)
    committed = true
    progress?.finish("\(shardName): \(metadata.documents) docs, \(metadata.tokens) tokens -> \(result.output)")
    tracker?.recordStore(
      metadata, at: result.output,
      skipped: Dictionary(uniqueKeysWithValues: result.skipped.map { ($0.key.rawValue, $0.value) }))
  }

  /// The skipped lines of a shard by reason (parsing only, no tokenizing), for recording a store
  /// written by an earlier process.
  private func skippedLines(of shard: String) throws -> [LineSkipReason: Int] {
    let reader = try ZstdFileReader(path: shard)
    let parser = PileLineParser()
    var splitter = LineSplitter()
    var text: [UInt8] = []
    var skipped: [LineSkipReason: Int] = [:]
    func handle(_ line: UnsafeRawBufferPointer, _: Int, _: Int) {
      if case .skipped(let reason) = parser.parse(line, text: &text) { skipped[reason, default: 0] += 1 }
    }
    try reader.forEachBlock { splitter.feed($0, handle) }
    splitter.finish(handle)
    return skipped
  }
}

/// The sha256 of a shard file, computed inline or on a background thread.
final class SourceDigest: @unchecked Sendable {
  private let shard: String
  private var result: Result<String, IngestError>?
  private let done = DispatchGroup()

  init(shard: String, background: Bool) {
    self.shard = shard
    if background {
      done.enter()
      DispatchQueue.global().async {
        self.result = self.compute()
        self.done.leave()
      }
    }
  }

  private func compute() -> Result<String, IngestError> {
    do { return .success(try SHA256.hex(ofFile: shard)) } catch {
      return .failure(IngestError.unreadable(shard: shard, reason: error.localizedDescription))
    }
  }

  /// The hex digest (waits for the background computation).
  func value() throws -> String {
    done.wait()
    if result == nil { result = compute() }
    return try result!.get()
  }
}
