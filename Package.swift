// swift-tools-version: 6.0
// Zoo: measuring and improving recall in efficient language models (Zoology, ICLR 2024), in Swift.
//
// Dependencies point one way:
//   C system libraries -> ZooSupport / ZooStorage / ZooTokenizer / ZooTensor / ZooTracking
//     -> ZooIngest / ZooRegistry / ZooModel / ZooTrain / ZooAnalysis / ZooDashboard -> zoo-* executables.
// The ingester and trainers log through ZooTracking's protocol and never see SQLite (ZooRegistry
// implements it); analysis never imports the model or the registry. Only executables and ZooCommandLine
// (their shared option groups) use ArgumentParser.
//
// Timed builds: swift build -c release -Xswiftc -target-cpu -Xswiftc haswell
// (Swift's default x86-64 target is SSE2: SIMD FMA and Float16 become libcalls; see README).
import PackageDescription

let package = Package(
  name: "Zoo",
  products: [
    .executable(name: "zoo-ingest", targets: ["zoo-ingest"]),
    .executable(name: "zoo-train", targets: ["zoo-train"]),
    .executable(name: "zoo-analyze", targets: ["zoo-analyze"]),
    .executable(name: "zoo-runs", targets: ["zoo-runs"]),
    .executable(name: "zoo-bench", targets: ["zoo-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // HTTP server of `zoo-runs serve` (no SwiftNIO; see README, "Dashboard").
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
  ],
  targets: [
    // C system libraries (Debian: libzstd-dev libhdf5-dev libsqlite3-dev libopenblas-dev).
    .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
    .systemLibrary(name: "CHDF5", pkgConfig: "hdf5-serial", providers: [.apt(["libhdf5-dev"])]),
    .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    // statfs(2) from libc (file system types: the registry refuses WAL on network file systems).
    .systemLibrary(name: "CStatfs"),

    // Foundations: terminal output, CSV, hashing, files.
    .target(name: "ZooSupport", dependencies: ["CStatfs"]),
    // zstd streams, HDF5 files, token stores and per-token loss files.
    .target(name: "ZooStorage", dependencies: ["CZstd", "CHDF5", "ZooSupport"]),
    // Byte-level BPE: GPT-2 id-for-id equal to tiktoken's gpt2, tokenizer.json (GPT-NeoX-20B) to HF tokenizers.
    .target(
      name: "ZooTokenizer", dependencies: ["ZooSupport"],
      resources: [.copy("Resources/gpt2.tiktoken"), .copy("Resources/gpt-neox-20b.tokenizer.json")]),
    // What the ingester and trainers record: runs, metrics, stores, through a protocol (no SQLite).
    .target(name: "ZooTracking"),
    // SQLite experiment registry, the tracking protocol's implementation.
    .target(name: "ZooRegistry", dependencies: ["CSQLite", "ZooTracking", "ZooSupport"]),
    // Pile shards -> token stores.
    .target(
      name: "ZooIngest",
      dependencies: ["ZooStorage", "ZooTokenizer", "ZooTracking", "ZooSupport"]),
    // Tensors, ops with hand-written backward, tape, AdamW.
    .target(name: "ZooTensor", dependencies: ["COpenBLAS", "ZooSupport"]),
    // Language model skeleton and sequence mixers.
    .target(name: "ZooModel", dependencies: ["ZooTensor", "ZooSupport"]),
    // The training loop (LM on token stores, MQAR), checkpoints, sweeps, export.
    .target(
      name: "ZooTrain",
      dependencies: ["ZooModel", "ZooTensor", "ZooStorage", "ZooTracking", "ZooSupport"]),
    // AR hits, gap attribution, buckets, CSV.
    .target(name: "ZooAnalysis", dependencies: ["ZooStorage", "ZooSupport"]),
    // Read-only registry dashboard: routing, HTML pages, server-drawn SVG charts, on FlyingFox.
    .target(
      name: "ZooDashboard",
      dependencies: [
        "ZooRegistry", "ZooTracking", "ZooSupport", .product(name: "FlyingFox", package: "FlyingFox"),
        .product(name: "FlyingSocks", package: "FlyingFox"),
      ]),

    // Option groups more than one executable offers (the Slurm launcher's); the only library on ArgumentParser.
    .target(
      name: "ZooCommandLine",
      dependencies: ["ZooSupport", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

    .executableTarget(
      name: "zoo-ingest",
      dependencies: [
        "ZooCommandLine", "ZooIngest", "ZooRegistry", "ZooTokenizer", "ZooSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "zoo-train",
      dependencies: [
        "ZooCommandLine", "ZooTrain", "ZooModel", "ZooTensor", "ZooRegistry", "ZooTracking", "ZooSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "zoo-analyze",
      dependencies: [
        "ZooAnalysis", "ZooRegistry", "ZooStorage", "ZooSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "zoo-runs",
      dependencies: [
        "ZooRegistry", "ZooTracking", "ZooDashboard", "ZooStorage", "ZooSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(
      name: "zoo-bench",
      dependencies: [
        "ZooIngest", "ZooTokenizer", "ZooStorage", "ZooRegistry", "ZooTracking", "ZooTensor", "ZooModel",
        "ZooAnalysis", "ZooDashboard", "ZooSupport",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),

    .testTarget(name: "ZooSupportTests", dependencies: ["ZooSupport"]),
    .testTarget(name: "ZooStorageTests", dependencies: ["ZooStorage", "CZstd", "ZooSupport"]),
    .testTarget(name: "ZooTokenizerTests", dependencies: ["ZooTokenizer", "ZooStorage", "ZooSupport"], exclude: ["Fixtures"]),
    .testTarget(name: "ZooRegistryTests", dependencies: ["ZooRegistry", "ZooTracking", "ZooSupport"]),
    .testTarget(
      name: "ZooIngestTests", dependencies: ["ZooIngest", "ZooStorage", "ZooTokenizer", "ZooTracking", "ZooSupport", "CZstd"],
      exclude: ["Fixtures"]),
    .testTarget(name: "ZooTensorTests", dependencies: ["ZooTensor"]),
    .testTarget(name: "ZooModelTests", dependencies: ["ZooModel", "ZooTensor", "ZooSupport"], exclude: ["Fixtures"]),
    .testTarget(name: "ZooTrainTests", dependencies: ["ZooTrain", "ZooModel", "ZooStorage", "ZooTracking", "ZooTensor", "ZooSupport"]),
    .testTarget(name: "ZooAnalysisTests", dependencies: ["ZooAnalysis", "ZooStorage", "ZooSupport"]),
    .testTarget(name: "ZooDashboardTests", dependencies: ["ZooDashboard", "ZooRegistry", "ZooTracking", "ZooSupport"]),
    .testTarget(name: "ZooCLITests", dependencies: ["ZooStorage", "ZooRegistry", "ZooTracking", "ZooDashboard", "ZooSupport"]),
  ]
)
