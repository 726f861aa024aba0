import ArgumentParser

@main
struct ZooBenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-bench",
    abstract: "Benchmarks of Zoo's hot paths, measured side by side with their peers.",
    discussion: """
      Build in release mode first; debug timings mean nothing:
        swift build -c release -Xswiftc -target-cpu -Xswiftc haswell
        .build/release/zoo-bench tokenize ../shared/data/pile-mini/*.jsonl.zst
        .build/release/zoo-bench registry --points 100000
      """,
    subcommands: [
      TokenizeBenchmark.self, RegistryBenchmark.self, AnalysisBenchmark.self, TrainBenchmark.self, MixerBenchmark.self,
      ServeBenchmark.self,
    ])
}
