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
      Example:
        .build/release/zoo-bench mixers --d-model 128 --lengths 256,1024,4096 --threads 2
      """)

  @Option(help: "Mixers, comma-separated.") var mixers = MixerRegistry.names.joined(separator: ",")
  @Option(name: .customLong("d-model")) var dModel = 128
  @Option(help: "Sequence lengths, comma-separated.") var lengths = "256,1024,4096"
  @Option(help: "Tokens per measured batch (batch = tokens / length, at least 1).") var tokens = 8192
  @Option(help: "Repeats (the median is reported).") var repeats = 3
  @Option var threads = 2

  func run() throws {
    Compute.useFastBLASKernels()
    Compute.keepFreedMemory()
    Compute.setThreads(threads)
    print("# d_model \(dModel), \(tokens) tokens per batch, threads \(threads), OpenBLAS core \(Compute.blasCore)")
    print("mixer,seq_len,batch,median_ms,tokens_per_s")
    for name in mixers.split(separator: ",").map(String.init) {
      for length in lengths.split(separator: ",").compactMap({ Int($0) }) {
        let batch = max(1, tokens / length)
        let config = ModelConfig(
          mixer: name, dModel: dModel, layers: 2, vocabSize: 2, maxPositions: length, heads: 1, lMax: length,
          windowSize: 64)
        try config.validate()
        // Layer 1: BaseConv's implicit long convolution ([3, -1]).
        let mixer = MixerRegistry.make(name, context: MixerContext(config: config, layer: 1, std: 0.02, outputStd: 0.02))
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
        print(String(format: "%@,%d,%d,%.1f,%.0f", name, length, batch, median * 1000, Double(batch * length) / median))
      }
    }
  }
}
