import ArgumentParser
import Foundation
import ZooModel
import ZooSupport
import ZooTensor

/// `zoo-bench mixers`: forward + backward tokens/s of each sequence mixer alone (one layer,
/// batch × length × d_model input), at several sequence lengths, to show how each scales.
struct MixerBenchmark: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "mixers",
    abstract: "Tokens/s of each mixer's forward+backward at several sequence lengths (release build).",
    discussion: """
      With --torch the PyTorch versions (bench/torch_mixers.py: Zoo's PyTorch twins from \
      python/zoo/models/mixers) of attention, BaseConv, Hyena, Based, GLA, Mamba-2, RWKV-7, DeltaNet and Gated \
      DeltaNet run in the same \
      command on the same shapes and threads, and each of those rows gets PyTorch's tokens/s and Zoo's ratio to it.

      Example:
        .build/release/zoo-bench mixers --d-model 128 --lengths 256,1024,4096 \\
          --threads 2 --torch
      """)

  @Option(help: "Mixers, comma-separated.") var mixers = MixerCatalogue.names.joined(separator: ",")
  @Option(name: .customLong("d-model")) var dModel = 128
  @Option(help: "Sequence lengths, comma-separated.") var lengths = "256,1024,4096"
  @Option(help: "Tokens per measured batch (batch = tokens / length, at least 1).") var tokens = 8192
  @Option(help: "Repeats (the median is reported).") var repeats = 3
  @Option var threads = 2
  @Flag(help: "Also time the PyTorch versions (python3 with torch) and print the ratio.") var torch = false
  @Option(name: .customLong("torch-script"), help: "The PyTorch benchmark script.") var torchScript = "bench/torch_mixers.py"

  /// Mixers whose PyTorch version is a fair peer (RWKV's and Mamba's in the script are plain
  /// reference loops for the parity tests, not the CUDA kernels, so no ratio is drawn for them;
  /// GLA's and Mamba-2's are chunked, batched over each chunk's pairs, as fla's naive chunked form;
  /// RWKV-7's runs the same chunked algorithm as Zoo's, in batched PyTorch products; so do the delta nets').
  static let torchMixers: Set<String> = ["attention", "base_conv", "hyena", "based", "gla", "mamba2", "rwkv7", "delta_net", "gated_delta_net"]

  func run() throws {
    Compute.useFastBLASKernels()
    Compute.keepFreedMemory()
    Compute.setThreads(threads)
    print("# d_model \(dModel), \(tokens) tokens per batch, threads \(threads), OpenBLAS core \(Compute.blasCore)")
    let names = mixers.split(separator: ",").map(String.init)
    var rows: [(name: String, length: Int, batch: Int, ms: Double, tokensPerSecond: Double)] = []
    for name in names {
      for length in lengths.split(separator: ",").compactMap({ Int($0) }) {
        let batch = max(1, tokens / length)
        // Layer 1's defaults: BaseConv's implicit long convolution.
        let options = try MixerCatalogue.config(named: name).defaults(layer: 1)
        try ModelConfig(mixers: [options, options], dModel: dModel, vocabSize: 2, maxPositions: length).validate()
        let mixer = options.makeMixer(context: MixerContext(dModel: dModel, lMax: length, layer: 1, layers: 2))
        var rng = SplitMix64(seed: 1)
        for p in mixer.parameters { for i in 0..<p.tensor.count { p.tensor.value[i] = Float(rng.nextGaussian()) * 0.02 } }
        let x = Tensor(zeros: [batch, length, dModel], requiresGrad: true)
        for i in 0..<x.count { x.value[i] = Float(rng.nextGaussian()) }
        var times: [Double] = []
        for r in 0...repeats {
          let start = ContinuousClock.now
          let tape = Tape()
          let y = mixer.forward(x, tape: tape)
          y.grad.update(repeating: 1)
          tape.backward()
          let d = (ContinuousClock.now - start).components
          if r > 0 { times.append(Double(d.seconds) + Double(d.attoseconds) * 1e-18) }  // first run warms up
          x.zeroGrad()
          for p in mixer.parameters { p.tensor.zeroGrad() }
        }
        let median = times.sorted()[times.count / 2]
        rows.append((name, length, batch, median * 1000, Double(batch * length) / median))
        FileHandle.standardError.write(Data(String(format: "%@ L %d: %.0f tok/s\n", name, length, rows.last!.tokensPerSecond).utf8))
      }
    }
    let peers = torch ? try torchTokensPerSecond(names.filter(Self.torchMixers.contains)) : [:]
    print("mixer,seq_len,batch,median_ms,tokens_per_s" + (torch ? ",torch_tokens_per_s,ratio" : ""))
    for row in rows {
      var line = String(format: "%@,%d,%d,%.1f,%.0f", row.name, row.length, row.batch, row.ms, row.tokensPerSecond)
      if torch {
        if let peer = peers["\(row.name)/\(row.length)"] {
          line += String(format: ",%.0f,%.2f", peer, row.tokensPerSecond / peer)
        } else {
          line += ",,"
        }
      }
      print(line)
    }
  }

  /// Runs the PyTorch script on the same shapes; tokens/s by "mixer/length".
  func torchTokensPerSecond(_ names: [String]) throws -> [String: Double] {
    guard !names.isEmpty else { return [:] }
    guard FileManager.default.fileExists(atPath: torchScript) else {
      throw ValidationError("\(torchScript) not found (run from the package root or pass --torch-script)")
    }
    let (status, data) = try runPython(
      [
        torchScript, "--mixers", names.joined(separator: ","), "--d-model", String(dModel), "--lengths", lengths,
        "--tokens", String(tokens), "--repeats", String(repeats), "--threads", String(threads),
      ], showErrors: true)
    guard status == 0 else { throw ValidationError("\(torchScript) failed (exit \(status))") }
    let output = String(decoding: data, as: UTF8.self)
    var out: [String: Double] = [:]
    for line in output.split(separator: "\n") {
      let f = line.split(separator: ",")
      if f.count == 5, let tps = Double(f[4]) { out["\(f[0])/\(f[1])"] = tps }
      if line.hasPrefix("#") { print(line) }
    }
    return out
  }
}
