import ArgumentParser
import Foundation
import ZooCommandLine
import ZooIngest
import ZooRegistry
import ZooSupport
import ZooTokenizer

@main
struct ZooIngestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-ingest",
    abstract: "Tokenize Pile shards (.jsonl.zst) with byte-level BPE, or import Megatron datasets, into HDF5 token stores.",
    discussion: """
      Each shard becomes <out>/<name>.h5 (format zoo.tokens.v1): /tokens (uint16 when the \
      vocabulary fits, uint32 otherwise) with the tokenizer's end-of-text id after every \
      document, /doc_offsets uint64, /doc_subset uint8, and attributes (tokenizer, \
      tokenizer_sha256, vocab_size, eot, subsets, source, source_sha256, documents, tokens, ...).

      --tokenizer gpt2 (default; ids equal tiktoken's gpt2 encode_ordinary, EOT 50256), \
      gpt-neox-20b (Pythia, Mamba, RWKV-4-Pile; ids equal Hugging Face tokenizers, EOT 0), or \
      the path of any byte-level BPE tokenizer.json (ids equal tokenizers' \
      encode(text, add_special_tokens=False)).

      --format megatron: each argument is a Megatron-LM / GPT-NeoX indexed dataset (PREFIX, \
      PREFIX.bin or PREFIX.idx: MMIDIDX version 1, integer ids) and becomes \
      <out>/<basename of PREFIX>.h5: one store document per dataset document, ids as they are \
      (no end-of-text id is added: --append-eod put it there), subset "megatron". --tokenizer \
      says what the ids are: every id must be below its vocabulary size, and the store records \
      its name and eot. The source sha256 is that of PREFIX.idx followed by PREFIX.bin. A bad \
      dataset (wrong magic, version or dtype, a truncated .idx, sequences past the end of .bin \
      or not back to back, a bad document index, a missing .bin, an id that is negative or not \
      below the vocabulary size) fails alone, like a bad shard.

      Stores are written to a temporary name and renamed when complete. An input whose store \
      already exists with the same source sha256 and tokenizer is skipped. A bad line (malformed \
      JSON, no "text", invalid UTF-8, empty text) is skipped and counted; a corrupt or truncated \
      shard fails alone (no output for it, the others go on, exit status 1). Every store is \
      recorded in the registry (--db, $ZOO_DB, default ./zoo.db).

      On Slurm: --launcher slurm submits one job array, one shard a task, each task writing its \
      own registry file (<db>.tasks/ingest-<store>.db, journal mode DELETE), and a job after it \
      (--dependency=afterany) that merges them into --db ('zoo-runs merge'); with --wait it \
      waits and merges itself. In your own array, --task-index I --task-count N (default: from \
      SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT) ingests shards I, \
      I+N, ... only. Resubmitting skips the stores already written.

      Example:
        zoo-ingest --out tokens pile/*.jsonl.zst
        zoo-ingest --tokenizer gpt-neox-20b --out tokens-neox pile/*.jsonl.zst
        zoo-ingest --format megatron --tokenizer gpt-neox-20b --out tokens-neox \\
          data/pile_text_document
        zoo-ingest --launcher slurm --time 1:00:00 --out tokens pile/*.jsonl.zst
      """)

  /// What the inputs are.
  enum Format: String, ExpressibleByArgument, CaseIterable {
    case pile, megatron
  }

  @Option(name: .long, help: "Input format: pile (.jsonl.zst shards) or megatron (MMIDIDX .bin/.idx datasets).")
  var format = Format.pile

  @Option(name: .long, help: "Directory for the token stores.")
  var out = "tokens"

  @Option(name: .long, help: "gpt2, gpt-neox-20b, or the path of a byte-level BPE tokenizer.json (for megatron: what the ids are).")
  var tokenizer = "gpt2"

  @Option(name: .long, help: "Tokenizer threads (default: all cores).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(name: .long, help: "Registry file (default: $ZOO_DB or ./zoo.db).")
  var db: String?

  @Flag(name: .long, help: "Do not record the stores in the registry.")
  var noRegistry = false

  @Flag(name: .long, help: "Plain log lines instead of a redrawn progress bar, even on a terminal.")
  var plain = false

  @Option(help: "Where shards are ingested: local (this process) or slurm (one job array task a shard).")
  var launcher = Launcher.local

  @OptionGroup(title: "Slurm (with --launcher slurm)") var slurm: SlurmOptions

  @Flag(name: .customLong("dry-run"), help: "With --launcher slurm: print the sbatch scripts and exit.") var dryRun = false

  @Option(name: .customLong("task-index"), help: "Ingest only shards I, I+N, ... (default: from SLURM_ARRAY_TASK_ID).")
  var taskIndex: Int?

  @Option(name: .customLong("task-count"), help: "N for --task-index (default: SLURM_ARRAY_TASK_COUNT).")
  var taskCount: Int?

  @Argument(help: "Pile shards (JSON lines compressed with zstd); with --format megatron, datasets (PREFIX, PREFIX.bin or PREFIX.idx).")
  var shards: [String]

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
    if (taskIndex == nil) != (taskCount == nil) { throw ValidationError("--task-index and --task-count go together") }
    if let taskIndex, let taskCount, !(0..<taskCount).contains(taskIndex) {
      throw ValidationError("--task-index must be in 0..<--task-count")
    }
    if launcher == .slurm && taskIndex != nil { throw ValidationError("--launcher slurm chooses the tasks itself; drop --task-index") }
    // A Megatron dataset is two files; a missing one fails that dataset alone.
    for shard in shards where format == .pile && !FileManager.default.fileExists(atPath: shard) {
      throw ValidationError("no such shard: \(shard)")
    }
  }

  func run() throws {
    Interrupt.install()
    if launcher == .slurm { return try submit() }
    // Inside a task of an array, only this task's share; its own outputs' temporaries only, since
    // other tasks (on other hosts) write into the same directory.
    let task = taskIndex.flatMap { i in taskCount.map { (i, $0) } } ?? (taskCount == nil ? Self.slurmArrayTask() : nil)
    let shards = task.map { task in self.shards.enumerated().filter { $0.offset % task.1 == task.0 }.map(\.element) } ?? self.shards
    let tokenizer: any Tokenizer
    do { tokenizer = try Tokenizers.load(self.tokenizer) } catch {
      writeStandardError("zoo-ingest: \(error)\n")
      throw ExitCode(2)
    }
    let tracker: Registry?
    do { tracker = noRegistry ? nil : try Registry(path: Registry.resolvePath(db)) } catch {
      writeStandardError("zoo-ingest: \(error)\n")
      throw ExitCode(1)
    }
    var ingester = ShardIngester(tokenizer: tokenizer, outputDirectory: out, threads: threads, tracker: tracker)
    var importer = MegatronImporter(vocabulary: ingester.vocabulary, outputDirectory: out, tracker: tracker)
    if plain {
      ingester.progressOnTerminal = false
      importer.progressOnTerminal = false
    }
    let outputs = shards.map { format == .pile ? ingester.outputPath(forShard: $0) : importer.outputPath(forDataset: $0) }
    AtomicFile.removeStaleTemporaries(
      in: out, of: task == nil ? nil : Set(outputs.map { URL(fileURLWithPath: $0).lastPathComponent }), reportAs: "zoo-ingest")
    var results: [ShardResult] = []
    for shard in shards {
      if Interrupt.requested { break }
      let result = format == .pile ? ingester.ingest(shard: shard) : importer.ingest(dataset: shard)
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
      writeStandardError("zoo-ingest: \(failed.count) of \(results.count) \(format == .pile ? "shard(s)" : "dataset(s)") failed\n")
      throw ExitCode(1)
    }
  }

  /// This process's place in a Slurm job array (index from 0, task count), nil outside one.
  static func slurmArrayTask() -> (Int, Int)? {
    let environment = ProcessInfo.processInfo.environment
    guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init),
      let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init), count > 0
    else { return nil }
    let index = id - (environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0)
    return (0..<count).contains(index) ? (index, count) : nil
  }
}
