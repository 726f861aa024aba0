import ArgumentParser
import Foundation
import ZooModel
import ZooSupport
import ZooTensor

/// `zoo-bench train`: training throughput (forward, backward, AdamW) of the language model on
/// random tokens, ours and PyTorch CPU eager (`../shared/bench/torch_ref.py bench`) with the same
/// model, batch, sequence length and threads, measured one after the other in one run.
struct TrainBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Training tokens/s (fwd+bwd+AdamW), ours vs PyTorch eager, and peak memory.",
    discussion: """
      Example (release build):
        .build/release/zoo-bench train --mixer attention --d-model 128 --layers 2 \\
          --seq-len 256 --batch 32 --threads 2
      """)

  @Option(help: "Mixer.") var mixer = "attention"
  @Option(name: .customLong("d-model")) var dModel = 128
  @Option var layers = 2
  @Option(name: .customLong("seq-len")) var seqLen = 256
  @Option var batch = 32
  @Option var vocab = 50257
  @Option(help: "Timed steps per repeat.") var steps = 5
  @Option(help: "Untimed steps first.") var warmup = 2
  @Option(help: "Repeats (the median is reported).") var repeats = 3
  @Option var threads = 2
  @Option(help: "PyTorch reference script (skipped when missing or torch is not installed).")
  var torchRef = "../shared/bench/torch_ref.py"
  @Flag(help: "Do not run the PyTorch reference.") var noTorch = false

  func run() throws {
    Compute.useFastBLASKernels()
    Compute.keepFreedMemory()
    Compute.setThreads(threads)
    let model = try LanguageModel(
      config: ModelConfig(
        mixers: try MixerCatalogue.layers(names: [mixer], count: layers, options: [:]), dModel: dModel, vocabSize: vocab,
        maxPositions: seqLen),
      seed: 123)
    let parameters = model.parameters.map(\.tensor)
    let optimizer = AdamW(sizes: parameters.map(\.count), learningRate: 1e-3, weightDecay: 0.1)
    var rng = SplitMix64(seed: 123)
    let inputs = (0..<(batch * seqLen)).map { _ in Int32(rng.nextInt(below: vocab)) }
    let targets = (0..<(batch * seqLen)).map { _ in Int32(rng.nextInt(below: vocab)) }
    func step() {
      let tape = Tape()
      _ = model.loss(inputs: inputs, targets: targets, batch: batch, length: seqLen, tape: tape)
      tape.backward()
      optimizer.update(parameters)
      model.zeroGradients()
    }
    for _ in 0..<warmup { step() }
    var rates: [Double] = []
    for _ in 0..<repeats {
      let start = ContinuousClock.now
      for _ in 0..<steps { step() }
      let d = (ContinuousClock.now - start).components
      rates.append(Double(batch * seqLen * steps) / (Double(d.seconds) + Double(d.attoseconds) * 1e-18))
    }
    rates.sort()
    let ours = rates[rates.count / 2]
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let peakMiB = Double(usage.ru_maxrss) / 1024
    print("# \(mixer) d_model \(dModel) layers \(layers) seq_len \(seqLen) batch \(batch) vocab \(vocab) threads \(threads); \(model.parameterCount) parameters; OpenBLAS core \(Compute.blasCore)")
    print("name,tokens_per_s_median,tokens_per_s_best,peak_rss_mib")
    print(String(format: "zoo,%.0f,%.0f,%.0f", ours, rates.last!, peakMiB))
    guard !noTorch, FileManager.default.fileExists(atPath: torchRef) else {
      print("# PyTorch reference not run (\(noTorch ? "--no-torch" : "no \(torchRef)"))")
      return
    }
    let (status, output) = try runPython([
      torchRef, "bench", "--mixer", mixer, "--vocab", String(vocab), "--d_model", String(dModel), "--n_layers",
      String(layers), "--seq_len", String(seqLen), "--batch_size", String(batch), "--steps", String(steps), "--warmup",
      String(warmup), "--repeats", String(repeats), "--threads", String(threads), "--embed_dropout", "0",
    ])
    guard status == 0,
      let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
      let json = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
      let torch = json["train_tokens_per_s_median"] as? Double
    else {
      print("# PyTorch reference failed or torch is not installed (exit \(status))")
      return
    }
    print(String(format: "pytorch %@,%.0f,%.0f,%.0f", json["torch"] as? String ?? "?", torch,
      json["train_tokens_per_s_best"] as? Double ?? 0, json["peak_rss_mib"] as? Double ?? 0))
    print(String(format: "# ratio zoo/pytorch: %.2fx", ours / torch))
  }
}
