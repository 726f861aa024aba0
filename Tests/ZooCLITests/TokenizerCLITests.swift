import Foundation
import Testing
import ZooRegistry
import ZooStorage

/// The GPT-NeoX-20B pipeline from the command line, on the bundled sample: ingest with
/// `--tokenizer gpt-neox-20b`, train with the vocabulary the store gives, count bigrams, and
/// analyze the gap with documents split at the store's EOT (0).
@Suite struct TokenizerCLITests {
  let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path

  @Test func gptNeoXStoresTrainAndAnalyze() throws {
    let scratch = try Scratch()
    let env = ["ZOO_DB": scratch.path + "/zoo.db"]
    let shards = ["00", "01"].map { sample + "/\($0).jsonl.zst" }
    let ingest = try Tool.run(
      "zoo-ingest", ["--tokenizer", "gpt-neox-20b", "--out", "neox", "--plain"] + shards, in: scratch.path, environment: env)
    #expect(ingest.status == 0, "\(ingest.stderr)")
    let store = try TokenStore(path: scratch.path + "/neox/01.h5")
    #expect(store.vocabulary.tokenizer == "gpt-neox-20b" && store.vocabulary.vocabularySize == 50277)
    #expect(store.vocabulary.endOfText == 0 && store.vocabulary.tokenizerSHA256.hasPrefix("56ac4821"))
    let offsets = try store.documentOffsets()
    #expect(try store.readTokens(Int(offsets[1]) - 1..<Int(offsets[1])) == [0], "every document ends with EOT 0")

    for (mixer, name) in [("attention", "neox-attn"), ("base_conv", "neox-conv")] {
      let train = try Tool.run(
        "zoo-train",
        [
          "lm", "--data", "neox/00.h5", "neox/01.h5", "--mixer", mixer, "--d-model", "16", "--layers", "1",
          "--seq-len", "64", "--batch", "4", "--steps", "10", "--eval-tokens", "4096", "--name", name, "--plain",
        ], in: scratch.path, environment: env)
      #expect(train.status == 0, "\(train.stderr.suffix(1000))")
    }
    let params = Dictionary(uniqueKeysWithValues: try Registry(path: scratch.path + "/zoo.db").params(ofRun: "neox-attn").map { ($0.key, $0.value) })
    #expect(params["vocab_size"] == "50277", "embedding sized from the store: \(params)")

    let bigrams = try Tool.run(
      "zoo-analyze", ["bigrams", "--train", "neox/00.h5", "neox/01.h5", "--out", "neox-bigrams.bin"], in: scratch.path,
      environment: env)
    #expect(bigrams.status == 0, "\(bigrams.stderr)")
    let gap = try Tool.run(
      "zoo-analyze",
      ["gap", "--runs", "neox-attn,neox-conv", "--context", "document", "--bigrams", "neox-bigrams.bin", "--out", "analysis"],
      in: scratch.path, environment: env)
    #expect(gap.status == 0, "\(gap.stderr)")
    #expect(gap.stdout.contains("neox-conv"))
    #expect(FileManager.default.fileExists(atPath: scratch.path + "/analysis/ar_by_frequency.csv"))

    // GPT-2 stores next to NeoX ones: one training run refuses them, and GPT-2 bigram counts do
    // not stratify NeoX tokens.
    let gpt2 = try Tool.run("zoo-ingest", ["--out", "gpt2", "--plain", shards[0]], in: scratch.path, environment: env)
    #expect(gpt2.status == 0, "\(gpt2.stderr)")
    let mixed = try Tool.run(
      "zoo-train", ["lm", "--data", "gpt2/00.h5", "neox/01.h5", "--steps", "1", "--name", "mixed", "--plain"],
      in: scratch.path, environment: env)
    #expect(mixed.status == 1 && mixed.stderr.contains("one run trains on one tokenizer"), "\(mixed.stderr)")
    _ = try Tool.run("zoo-analyze", ["bigrams", "--train", "gpt2/00.h5", "--out", "gpt2-bigrams.bin"], in: scratch.path, environment: env)
    let wrong = try Tool.run(
      "zoo-analyze", ["gap", "--runs", "neox-attn,neox-conv", "--bigrams", "gpt2-bigrams.bin", "--out", "analysis2"],
      in: scratch.path, environment: env)
    #expect(wrong.status == 1 && wrong.stderr.contains("gpt2-bigrams.bin"), "\(wrong.stderr)")
  }

  @Test func unknownAndUnsupportedTokenizersAreOneLineErrors() throws {
    let scratch = try Scratch()
    let shard = sample + "/00.jsonl.zst"
    let unknown = try Tool.run("zoo-ingest", ["--tokenizer", "llama", "--no-registry", shard], in: scratch.path)
    #expect(unknown.status == 2 && unknown.stderr.contains("unknown tokenizer 'llama'"), "\(unknown.stderr)")
    let json = #"{"model": {"type": "WordPiece", "vocab": {}}, "pre_tokenizer": null, "normalizer": null}"#
    try json.write(toFile: scratch.path + "/wp.json", atomically: true, encoding: .utf8)
    let wordPiece = try Tool.run("zoo-ingest", ["--tokenizer", "wp.json", "--no-registry", shard], in: scratch.path)
    #expect(wordPiece.status == 2, "\(wordPiece.stderr)")
    #expect(wordPiece.stderr == "zoo-ingest: wp.json: unsupported tokenizer: model type WordPiece (only BPE)\n")
    #expect(!FileManager.default.fileExists(atPath: scratch.path + "/tokens/00.h5"))
  }
}
