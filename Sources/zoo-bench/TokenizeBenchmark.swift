import ArgumentParser
import Foundation
import ZooIngest
import ZooStorage
import ZooSupport
import ZooTokenizer

/// `zoo-bench tokenize`: byte-level BPE throughput, ours against the tokenizer's reference
/// (tiktoken for gpt2, Hugging Face `tokenizers` for a tokenizer.json), and whole-shard ingest
/// with 1 and all threads, in one run.
struct TokenizeBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenize",
    abstract: "Tokenizer and ingest throughput (MB/s of document text, tokens/s), with the reference tokenizer's.",
    discussion: """
      Reads the documents of the given Pile shards into memory, then times (median of \
      --repeats): our pre-tokenizer split alone, our encode on 1 thread and on --threads \
      threads, the reference tokenizer on 1 and --threads threads (bench/tokenizer_peer.py: \
      tiktoken's encode_ordinary and encode_ordinary_batch for gpt2, Hugging Face tokenizers' \
      encode_batch_fast with RAYON_NUM_THREADS=1 and =N for a tokenizer.json), and whole-shard \
      ingest (zstd → JSON → BPE → HDF5) with 1 and --threads threads. It compares a sha256 of all \
      token ids with the reference's: "ids_identical yes" means every document encoded to the \
      same ids.

      Examples:
        zoo-bench tokenize ../shared/data/pile-mini/*.jsonl.zst
        zoo-bench tokenize --tokenizer gpt-neox-20b \\
          ../shared/data/pile-mini/*.jsonl.zst
      """)

  @Option(help: "gpt2, gpt-neox-20b, or the path of a byte-level BPE tokenizer.json.")
  var tokenizer = "gpt2"

  @Option(help: "Timed repetitions per row (the median is reported).")
  var repeats = 3

  @Option(help: "Threads for the multi-threaded rows (default: all cores).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Option(help: "The reference tokenizer script.")
  var peerScript = "bench/tokenizer_peer.py"

  @Flag(help: "Skip the reference tokenizer's rows.")
  var noPeer = false

  @Flag(help: "Skip the whole-shard ingest rows.")
  var noIngest = false

  @Argument(help: "Pile shards (.jsonl.zst).")
  var files: [String]

  func run() throws {
    let tokenizer = try Tokenizers.load(self.tokenizer)
    let texts = try loadTexts(files)
    let textBytes = texts.reduce(0) { $0 + $1.count }
    print("# \(texts.count) documents, \(textBytes) bytes of text from \(files.count) file(s); tokenizer \(tokenizer.vocabulary.tokenizer); repeats \(repeats); threads \(threads)")
    print("name,threads,median_s,mb_per_s,tokens_per_s")

    func row(_ name: String, _ threads: Int, _ seconds: Double, _ tokens: Int) -> Double {
      let mbps = Double(textBytes) / 1e6 / seconds
      print("\(name),\(threads),\(String(format: "%.4f", seconds)),\(String(format: "%.2f", mbps)),\(String(format: "%.0f", Double(tokens) / seconds))")
      return mbps
    }

    var pieces = 0
    let splitSeconds = median(repeats) {
      pieces = 0
      for text in texts { text.withUnsafeBufferPointer { pieces += PreTokenizer.split($0).count } }
    }
    _ = row("zoo pretokenize", 1, splitSeconds, pieces)

    var ids: [[UInt32]] = []
    let oneSeconds = median(repeats) {
      ids = texts.map { text in
        var out: [UInt32] = []
        text.withUnsafeBufferPointer { tokenizer.encode($0, into: &out) }
        return out
      }
    }
    let tokens = ids.reduce(0) { $0 + $1.count }
    let zooOne = row("zoo encode", 1, oneSeconds, tokens)
    var batch = DocumentBatch()
    for text in texts { batch.append(text: text, subset: "") }
    let manySeconds = median(repeats) { _ = batch.tokenize(with: tokenizer, threads: threads) }
    let zooMany = row("zoo encode", threads, manySeconds, tokens)

    if !noPeer {
      let peer = try Peer(script: peerScript, tokenizer: self.tokenizer, texts: texts, repeats: repeats)
      defer { peer.remove() }
      let ours = idsDigest(ids)
      var ratios: [String] = []
      for (threads, zoo) in [(1, zooOne), (self.threads, zooMany)] {
        guard let timing = try peer.time(threads: threads) else {
          print("# reference rows skipped: \(peer.name) not available in python3 (\(peer.install))")
          break
        }
        let theirs = row(peer.name, threads, timing.seconds, timing.tokens)
        ratios.append("\(threads) thread\(threads == 1 ? "" : "s"): \(String(format: "%.2f", zoo / theirs))x")
        if threads == 1 {
          print("# ids_identical \(ours == timing.digest ? "yes" : "NO") (zoo \(tokens) tokens sha256 \(ours.prefix(16)), \(peer.name) \(timing.tokens) tokens sha256 \(timing.digest.prefix(16)))")
        }
      }
      if !ratios.isEmpty { print("# ratio zoo/\(peer.name) \(ratios.joined(separator: "; "))") }
    }

    if !noIngest {
      let one = try ingestSeconds(tokenizer: tokenizer, threads: 1)
      let ingestOne = row("zoo ingest (zstd+json+bpe+hdf5)", 1, one.seconds, one.tokens)
      let many = try ingestSeconds(tokenizer: tokenizer, threads: threads)
      let ingestMany = row("zoo ingest (zstd+json+bpe+hdf5)", threads, many.seconds, many.tokens)
      print("# ingest speed-up \(threads) threads vs 1: \(String(format: "%.2f", ingestMany / ingestOne))x")
    }
  }

  /// Decompresses and parses the shards' documents.
  private func loadTexts(_ files: [String]) throws -> [[UInt8]] {
    var texts: [[UInt8]] = []
    let parser = PileLineParser()
    for file in files {
      let reader = try ZstdFileReader(path: file)
      var splitter = LineSplitter()
      var text: [UInt8] = []
      let onLine: (UnsafeRawBufferPointer, Int, Int) -> Void = { line, _, _ in
        if case .document = parser.parse(line, text: &text) { texts.append(text) }
      }
      try reader.forEachBlock { splitter.feed($0, onLine) }
      splitter.finish(onLine)
    }
    return texts
  }

  /// Median wall time of `repeats` runs of `body`, after one warm-up run.
  private func median(_ repeats: Int, _ body: () -> Void) -> Double {
    body()
    var times: [Double] = []
    for _ in 0..<max(1, repeats) {
      let start = ContinuousClock.now
      body()
      let d = ContinuousClock.now - start
      times.append(Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18)
    }
    return times.sorted()[times.count / 2]
  }

  /// sha256 of all ids as little-endian uint32, documents back to back.
  private func idsDigest(_ ids: [[UInt32]]) -> String {
    var hasher = SHA256()
    for doc in ids { doc.map(\.littleEndian).withUnsafeBytes { hasher.update($0) } }
    return hasher.finalizeHex()
  }

  /// Whole-shard ingest of `files` into a temporary directory: (median seconds, tokens).
  private func ingestSeconds(tokenizer: any Tokenizer, threads: Int) throws -> (seconds: Double, tokens: Int) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bench-ingest-\(getpid())-\(threads)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var ingester = ShardIngester(tokenizer: tokenizer, outputDirectory: dir.path, threads: threads, tracker: nil)
    ingester.progressOnTerminal = nil
    var tokens = 0
    var failure: String?
    let seconds = median(repeats) {
      try? FileManager.default.removeItem(at: dir)
      tokens = 0
      for file in files {
        let result = ingester.ingest(shard: file)
        if case .failed(let reason) = result.status { failure = reason }
        tokens += result.tokens - result.documents  // count text tokens only, like the encode rows
      }
    }
    if let failure { throw ValidationError("ingest failed: \(failure)") }
    return (seconds, tokens)
  }
}

/// The reference tokenizer, run by `bench/tokenizer_peer.py` in a Python child process on the
/// same texts (written once, length-prefixed, to a temporary file).
private struct Peer {
  let script: String
  let arguments: [String]
  let name: String
  let install: String
  let textsPath: String
  let repeats: Int

  struct Timing {
    var seconds: Double
    var tokens: Int
    var digest: String
  }

  init(script: String, tokenizer: String, texts: [[UInt8]], repeats: Int) throws {
    guard FileManager.default.fileExists(atPath: script) else {
      throw ValidationError("no peer script at \(script) (run from the repository root or pass --peer-script)")
    }
    self.script = script
    self.repeats = repeats
    switch tokenizer {
    case "gpt2":
      (name, install) = ("tiktoken", "pip install tiktoken")
      arguments = ["--tiktoken", GPT2Tokenizer.bundledRanksPath]
    case "gpt-neox-20b":
      (name, install) = ("tokenizers", "pip install tokenizers")
      arguments = ["--tokenizer-json", BPETokenizer.bundledGPTNeoX20BPath]
    default:
      (name, install) = ("tokenizers", "pip install tokenizers")
      arguments = ["--tokenizer-json", tokenizer]
    }
    var blob = Data()
    for text in texts {
      var n = UInt64(text.count).littleEndian
      withUnsafeBytes(of: &n) { blob.append(contentsOf: $0) }
      blob.append(contentsOf: text)
    }
    textsPath = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bench-texts-\(getpid()).bin").path
    try blob.write(to: URL(fileURLWithPath: textsPath))
  }

  /// Deletes the texts file.
  func remove() { unlink(textsPath) }

  /// One timing on `threads` threads, or nil when the Python module is missing.
  func time(threads: Int) throws -> Timing? {
    let (status, output) = try runPython(
      [script] + arguments + [textsPath, "--repeats", "\(repeats)", "--threads", "\(threads)"],
      environment: ["RAYON_NUM_THREADS=\(threads)"])
    guard status == 0,
      let json = try? JSONSerialization.jsonObject(with: output) as? [String: Any],
      let seconds = json["seconds"] as? Double, let tokens = json["tokens"] as? Int, let digest = json["sha256"] as? String
    else { return nil }
    return Timing(seconds: seconds, tokens: tokens, digest: digest)
  }
}
