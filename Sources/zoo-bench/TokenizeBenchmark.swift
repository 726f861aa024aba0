import ArgumentParser
import Foundation
import ZooIngest
import ZooStorage
import ZooSupport
import ZooTokenizer

/// `zoo-bench tokenize`: GPT-2 BPE throughput, ours against tiktoken, and whole-shard ingest
/// with 1 and all threads, in one run.
struct TokenizeBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "tokenize",
    abstract: "Tokenizer and ingest throughput (MB/s of document text, tokens/s), with tiktoken's.",
    discussion: """
      Reads the documents of the given Pile shards into memory, then times (median of
      --repeats): our pre-tokenizer split alone, our encode on 1 thread and on --threads
      threads, tiktoken's encode_ordinary on 1 thread and encode_ordinary_batch on --threads
      threads (when `python3 -c "import tiktoken"` works), and whole-shard ingest (zstd → JSON →
      BPE → HDF5) with 1 and --threads threads. It also compares a sha256 of all token ids with
      tiktoken's: "ids_identical yes" means every document encoded to the same ids.
      """)

  @Option(help: "Timed repetitions per row (the median is reported).")
  var repeats = 3

  @Option(help: "Threads for the multi-threaded rows (default: all cores).")
  var threads = ProcessInfo.processInfo.activeProcessorCount

  @Flag(help: "Skip the tiktoken rows.")
  var noTiktoken = false

  @Flag(help: "Skip the whole-shard ingest rows.")
  var noIngest = false

  @Argument(help: "Pile shards (.jsonl.zst).")
  var files: [String]

  func run() throws {
    let tokenizer = try GPT2Tokenizer.bundled()
    let texts = try loadTexts(files)
    let textBytes = texts.reduce(0) { $0 + $1.count }
    print("# \(texts.count) documents, \(textBytes) bytes of text from \(files.count) file(s); repeats \(repeats); threads \(threads)")
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

    var ids: [[UInt16]] = []
    let oneSeconds = median(repeats) {
      ids = texts.map { text in
        var out: [UInt16] = []
        text.withUnsafeBufferPointer { tokenizer.encodeOrdinary($0, into: &out) }
        return out
      }
    }
    let tokens = ids.reduce(0) { $0 + $1.count }
    let zooOne = row("zoo encode", 1, oneSeconds, tokens)
    var batch = DocumentBatch()
    for text in texts { batch.append(text: text, subset: "") }
    let manySeconds = median(repeats) { _ = batch.tokenize(with: tokenizer, threads: threads) }
    let zooMany = row("zoo encode", threads, manySeconds, tokens)

    if !noTiktoken, let peer = try tiktokenTimings(texts: texts, tokenizer: tokenizer) {
      let tikOne = row("tiktoken encode_ordinary", 1, peer.oneThread, peer.tokens)
      let tikMany = row("tiktoken encode_ordinary_batch", threads, peer.manyThreads, peer.tokens)
      let ours = idsDigest(ids)
      print("# ids_identical \(ours == peer.digest ? "yes" : "NO") (zoo \(tokens) tokens sha256 \(ours.prefix(16)), tiktoken \(peer.tokens) tokens sha256 \(peer.digest.prefix(16)))")
      print("# ratio zoo/tiktoken 1 thread: \(String(format: "%.2f", zooOne / tikOne))x; \(threads) threads: \(String(format: "%.2f", zooMany / tikMany))x")
    } else if !noTiktoken {
      print("# tiktoken rows skipped: python3 with tiktoken not available (pip install tiktoken)")
    }

    if !noIngest {
      let one = try ingestSeconds(threads: 1)
      let ingestOne = row("zoo ingest (zstd+json+bpe+hdf5)", 1, one.seconds, one.tokens)
      let many = try ingestSeconds(threads: threads)
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

  /// sha256 of all ids as little-endian uint16, documents back to back.
  private func idsDigest(_ ids: [[UInt16]]) -> String {
    var hasher = SHA256()
    for doc in ids { doc.withUnsafeBytes { hasher.update($0) } }
    return hasher.finalizeHex()
  }

  private struct PeerTimings {
    var oneThread: Double
    var manyThreads: Double
    var tokens: Int
    var digest: String
  }

  /// Runs tiktoken on the same texts in a Python child process (texts passed as length-prefixed
  /// UTF-8 in a temporary file) and reads back its timings and ids digest.
  private func tiktokenTimings(texts: [[UInt8]], tokenizer: GPT2Tokenizer) throws -> PeerTimings? {
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    probe.arguments = ["python3", "-c", "import tiktoken"]
    probe.standardError = FileHandle.nullDevice
    guard (try? probe.run()) != nil else { return nil }
    probe.waitUntilExit()
    guard probe.terminationStatus == 0 else { return nil }

    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-bench-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var blob = Data()
    for text in texts {
      var n = UInt64(text.count).littleEndian
      withUnsafeBytes(of: &n) { blob.append(contentsOf: $0) }
      blob.append(contentsOf: text)
    }
    let textsPath = dir.appendingPathComponent("texts.bin").path
    try blob.write(to: URL(fileURLWithPath: textsPath))
    let scriptPath = dir.appendingPathComponent("tiktoken_bench.py").path
    try Self.tiktokenScript.write(toFile: scriptPath, atomically: true, encoding: .utf8)

    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", scriptPath, GPT2Tokenizer.bundledRanksPath, textsPath, "\(repeats)", "\(threads)"]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let json = try JSONSerialization.jsonObject(with: output) as? [String: Any],
      let one = json["one_thread_s"] as? Double, let many = json["many_threads_s"] as? Double,
      let tokens = json["tokens"] as? Int, let digest = json["sha256"] as? String
    else {
      writeStandardError("zoo-bench: the tiktoken child process failed\n")
      return nil
    }
    return PeerTimings(oneThread: one, manyThreads: many, tokens: tokens, digest: digest)
  }

  private static let tiktokenScript = #"""
    import array, hashlib, json, statistics, struct, sys, time
    import tiktoken, tiktoken.load
    from tiktoken_ext.openai_public import r50k_pat_str
    ranks, path, repeats, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    enc = tiktoken.Encoding(name="gpt2", pat_str=r50k_pat_str, mergeable_ranks=tiktoken.load.load_tiktoken_bpe(ranks),
                            special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)
    data = open(path, "rb").read()
    texts, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from("<Q", data, i); i += 8
        texts.append(data[i:i + n].decode("utf-8")); i += n
    def timed(f):
        f()
        times = []
        for _ in range(max(1, repeats)):
            t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
        return statistics.median(times)
    one = timed(lambda: [enc.encode_ordinary(t) for t in texts])
    many = timed(lambda: enc.encode_ordinary_batch(texts, num_threads=threads))
    h, tokens = hashlib.sha256(), 0
    for t in texts:
        ids = enc.encode_ordinary(t); tokens += len(ids); h.update(array.array("H", ids).tobytes())
    print(json.dumps({"one_thread_s": one, "many_threads_s": many, "tokens": tokens, "sha256": h.hexdigest()}))
    """#

  /// Whole-shard ingest of `files` into a temporary directory: (median seconds, tokens).
  private func ingestSeconds(threads: Int) throws -> (seconds: Double, tokens: Int) {
    let tokenizer = try GPT2Tokenizer.bundled()
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
