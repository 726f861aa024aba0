import Dispatch
import Foundation
import ZooStorage
import ZooSupport
import ZooTracking

/// Turns Megatron-LM / GPT-NeoX indexed datasets (`PREFIX.idx` + `PREFIX.bin`) into token
/// stores, one store per dataset, `<out>/<basename of PREFIX>.h5`.
///
/// Each document becomes one store document with its ids as they are: no end-of-text id is added
/// (GPT-NeoX's and Megatron-LM's `--append-eod` already put one at each document's end), and
/// every document's subset is ``subset``. The vocabulary says what the ids are: every id must be
/// below its size, and the store records its tokenizer and `eot`. The store's `source` is the
/// prefix's base name and its `source_sha256` the sha256 of `.idx` followed by `.bin`
/// (``MegatronDataset/sourceSHA256()``); a dataset whose store exists with the same digest and
/// vocabulary is skipped. A bad dataset fails alone, with no store, as a bad Pile shard does.
/// Documents that do not end with the vocabulary's end-of-text id are kept as they are and
/// counted in a warning: a dataset made without `--append-eod`, or ids of another tokenizer.
public struct MegatronImporter {
  /// The subset of every document of a Megatron dataset (the format records none).
  public static let subset = "megatron"

  /// Where stores are written.
  public var outputDirectory: String
  /// Show a redrawn progress bar (`true`), periodic log lines (`false`), or nothing (`nil`).
  public var progressOnTerminal: Bool? = isatty(STDERR_FILENO) != 0
  /// What the datasets' ids are.
  public let vocabulary: TokenVocabulary
  private let tracker: (any ExperimentTracker)?

  /// An importer writing into `outputDirectory`; stores are recorded in `tracker` when given.
  public init(vocabulary: TokenVocabulary, outputDirectory: String, tracker: (any ExperimentTracker)?) {
    self.vocabulary = vocabulary
    self.outputDirectory = outputDirectory
    self.tracker = tracker
  }

  /// The store path for a dataset given as `PREFIX`, `PREFIX.bin` or `PREFIX.idx`.
  public func outputPath(forDataset argument: String) -> String {
    let name = URL(fileURLWithPath: MegatronDataset.prefix(of: argument)).lastPathComponent
    return URL(fileURLWithPath: outputDirectory).appendingPathComponent(name + ".h5").path
  }

  /// Imports one dataset (`PREFIX`, `PREFIX.bin` or `PREFIX.idx`). Never throws: failures are
  /// reported in the result, whose `shard` is the prefix.
  public func ingest(dataset argument: String) -> ShardResult {
    let prefix = MegatronDataset.prefix(of: argument)
    return ShardResult.timing(shard: prefix, output: outputPath(forDataset: prefix), run)
  }

  private func run(_ result: inout ShardResult) throws {
    let dataset = try MegatronDataset(prefix: result.shard)
    let name = URL(fileURLWithPath: result.shard).lastPathComponent
    // As for Pile shards: without a store the digest is needed only at commit, so it is
    // computed on another thread alongside the import.
    let outputExists = FileManager.default.fileExists(atPath: result.output)
    let digest = BackgroundDigest(dataset, background: !outputExists)
    if outputExists, let existing = try? TokenStore(path: result.output), existing.vocabulary.sameTokens(as: vocabulary),
      existing.metadata.sourceSHA256 == digest.value()
    {
      result.status = .upToDate
      result.documents = existing.documentCount
      result.tokens = existing.tokenCount
      try tracker?.recordStoreIfMissing(existing.metadata, at: result.output) { [:] }
      return
    }
    try AtomicFile.createParentDirectory(of: result.output)
    let writer = try TokenStoreWriter(path: result.output, vocabulary: vocabulary)
    var committed = false
    defer { if !committed { writer.abort() } }

    let progress = progressOnTerminal.map { Progress(title: name, total: Double(dataset.tokenCount), forceTerminal: $0) }
    var ids: [UInt32] = []
    var unterminated = 0  // non-empty documents whose last id is not the vocabulary's EOT
    for d in 0..<dataset.documentCount {
      try dataset.readDocument(d, vocabularySize: vocabulary.vocabularySize, into: &ids)
      if let last = ids.last, last != vocabulary.endOfText { unterminated += 1 }
      try ids.withUnsafeBufferPointer { try writer.appendDocument($0, subset: Self.subset, endOfText: false) }
      result.documents += 1
      result.tokens += ids.count
      if d % 1024 == 1023 {
        if Interrupt.requested { throw IngestError.interrupted(shard: result.shard) }
        progress?.update(
          done: Double(result.tokens), rates: [.init("tok/s", Double(result.tokens))], detail: "\(result.documents) docs")
      }
    }
    if Interrupt.requested { throw IngestError.interrupted(shard: result.shard) }

    let metadata = try writer.commit(source: name, sourceSHA256: digest.value(), skippedLines: 0)
    committed = true
    progress?.finish("\(name): \(metadata.documents) docs, \(metadata.tokens) tokens -> \(result.output)")
    if unterminated > 0 {
      writeStandardError(
        "zoo-ingest: warning: \(name): \(unterminated) of \(metadata.documents) documents do not end with "
          + "\(vocabulary.tokenizer)'s end-of-text id \(vocabulary.endOfText) (made without Megatron's --append-eod, "
          + "or ids of another tokenizer?)\n")
    }
    tracker?.recordStore(metadata, at: result.output, skipped: [:])
  }
}

/// A dataset's source digest, computed inline or on a background thread.
private final class BackgroundDigest: @unchecked Sendable {
  private let dataset: MegatronDataset
  private var digest: String?
  private let done = DispatchGroup()

  init(_ dataset: MegatronDataset, background: Bool) {
    self.dataset = dataset
    if background {
      done.enter()
      DispatchQueue.global().async {
        self.digest = dataset.sourceSHA256()
        self.done.leave()
      }
    }
  }

  /// The hex digest (waits for the background computation).
  func value() -> String {
    done.wait()
    if digest == nil { digest = dataset.sourceSHA256() }
    return digest!
  }
}
