import ArgumentParser
import Foundation
import ZooIngest
import ZooRegistry
import ZooSupport
import ZooTokenizer

@main
struct ZooIngestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-ingest",
    abstract: "Tokenize Pile shards (.jsonl.zst) with GPT-2 BPE into HDF5 token stores.",
    discussion: """
      Each shard becomes <out>/<name>.h5 (format zoo.tokens.v1): /tokens uint16 with an
      <|endoftext|> (50256) after every document, /doc_offsets uint64, /doc_subset uint8, and
      attributes (subsets, source, source_sha256, documents, tokens, skipped_lines, ...).
      Stores are written to a temporary name and renamed when complete. A shard whose store
      already exists with the same source sha256 is skipped. A bad line (malformed JSON, no
      "text", invalid UTF-8, empty text) is skipped and counted; a corrupt or truncated shard
      fails alone (no output for it, the others go on, exit status 1). Every store is recorded
      in the registry (--db, $ZOO_DB, default ./zoo.db).

      Example:
        zoo-ingest --out tokens pile/*.jsonl.zst
      """)

  @Option(name: .long, help: "Directory for the token stores.")
  var out = "tokens"

  @Option(name: .long, help: "Tokenizer threads (default: all cores).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(name: .long, help: "Registry file (default: $ZOO_DB or ./zoo.db).")
  var db: String?

  @Flag(name: .long, help: "Do not record the stores in the registry.")
  var noRegistry = false

  @Flag(name: .long, help: "Plain log lines instead of a redrawn progress bar, even on a terminal.")
  var plain = false

  @Argument(help: "Pile shards (JSON lines compressed with zstd).")
  var shards: [String]

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
    for shard in shards where !FileManager.default.fileExists(atPath: shard) {
      throw ValidationError("no such shard: \(shard)")
    }
  }

  func run() throws {
    Interrupt.install()
    let tokenizer = try GPT2Tokenizer.bundled()
    let tracker: Registry? = noRegistry ? nil : try Registry(path: Registry.resolvePath(db))
    var ingester = ShardIngester(tokenizer: tokenizer, outputDirectory: out, threads: threads, tracker: tracker)
    if plain { ingester.progressOnTerminal = false }
    AtomicFile.removeStaleTemporaries(in: out, reportAs: "zoo-ingest")
    var results: [ShardResult] = []
    for shard in shards {
      if Interrupt.requested { break }
      let result = ingester.ingest(shard: shard)
      if case .failed(let reason) = result.status {
        writeStandardError("zoo-ingest: \(shard): FAILED: \(reason)\n")
      }
      results.append(result)
    }
    print(IngestSummary.table(results), terminator: "")
    if Interrupt.requested {
      writeStandardError("zoo-ingest: interrupted; completed stores are kept, the partial one was removed\n")
      throw ExitCode(130)
    }
    let failed = results.filter { if case .failed = $0.status { true } else { false } }
    if !failed.isEmpty {
      writeStandardError("zoo-ingest: \(failed.count) of \(results.count) shard(s) failed\n")
      throw ExitCode(1)
    }
  }
}
