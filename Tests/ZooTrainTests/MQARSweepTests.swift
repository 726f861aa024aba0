import Foundation
import Testing

@testable import ZooTrain

@Suite struct MQARSweepTests {
  private func write(_ json: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID()).json").path
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  private let valid = """
    {"name": "s", "vocab_size": 8192, "mixers": ["attention", "base_conv"], "d_models": [128, 64],
     "learning_rates": [0.01, 0.0001], "tasks": [{"seq_len": 128, "num_kv_pairs": 8}, {"seq_len": 64, "num_kv_pairs": 4}],
     "layers": 2, "epochs": 8, "batch_size": 64, "train_examples": 1000, "test_examples": 100, "seed": 123}
    """

  @Test func expandsTheGridInAFixedOrder() throws {
    let path = try write(valid)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let sweep = try MQARSweep.load(path: path)
    let points = sweep.points
    #expect(points.count == 2 * 2 * 2 * 2)
    #expect(Set(points.map { $0.runName(sweep: "s") }).count == points.count, "run names must be unique")
    #expect(points.first?.runName(sweep: "s") == "s-attention-d64-lr1e-4-L64-kv4")
    #expect(points.last?.runName(sweep: "s") == "s-base_conv-d128-lr1e-2-L128-kv8")
    let pending = sweep.pending { $0.hasPrefix("s-attention-d64") }
    #expect(pending.count == points.count - 4)
  }

  /// The launch order puts the largest points first and keeps the grid order among equals.
  @Test func launchesTheLargestPointsFirst() throws {
    let path = try write(valid.replacingOccurrences(of: #""num_kv_pairs": 4}"#, with: #""num_kv_pairs": 4, "train_examples": 4000}"#))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let sweep = try MQARSweep.load(path: path)
    let order = sweep.launchOrder(sweep.points).map { $0.runName(sweep: "s") }
    #expect(Set(order) == Set(sweep.points.map { $0.runName(sweep: "s") }))
    // L 64 × 4000 examples (256k tokens) outweighs L 128 × 1000 (128k); d 128 before d 64.
    #expect(order.prefix(4) == ["s-attention-d128-lr1e-4-L64-kv4", "s-attention-d128-lr1e-2-L64-kv4",
                                "s-base_conv-d128-lr1e-4-L64-kv4", "s-base_conv-d128-lr1e-2-L64-kv4"])
    #expect(order.last == "s-base_conv-d64-lr1e-2-L128-kv8")
    let costs = sweep.launchOrder(sweep.points).map(sweep.estimatedCost)
    #expect(costs == costs.sorted(by: >))
  }

  /// A mixer object names a per-layer list with options; Figure 2's defaults reach the run's configuration.
  @Test func mixerObjectsAndFigure2Defaults() throws {
    let path = try write(valid.replacingOccurrences(
      of: #""mixers": ["attention", "base_conv"]"#,
      with: #""mixers": ["attention", {"label": "based", "mixer": "base_conv,based", "feature_dim": 8, "kernel_size": [3]}]"#))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let sweep = try MQARSweep.load(path: path)
    let based = try #require(sweep.points.first { $0.mixer.label == "based" })
    #expect(based.runName(sweep: "s") == "s-based-d64-lr1e-4-L64-kv4")
    let run = try sweep.run(based)
    #expect(run.name == "s-based-d64-lr1e-4-L64-kv4")
    #expect(run.config.model.mixerNames == ["base_conv", "based"])
    #expect(run.config.model.params["feature_dim"] == "-,8" && run.config.model.params["kernel_size"] == "3,-")
    #expect(run.config.model.maxPositions == 0 && !run.config.data.randomNonQueries && run.config.model.hiddenMult == 0)
    #expect(run.config.trainExamples == 1000 && run.config.learningRate == 1e-4 && run.config.data.seqLen == 64)
    #expect(run.config.model.embedDropout == MQARTrainingConfig.zoologyDropout)
    let attention = try #require(sweep.points.first { $0.mixer.label == "attention" })
    #expect(try sweep.run(attention).config.model.maxPositions == 64)
    #expect(try sweep.run(attention).config.model.params["attn_dropout"] == "0.1")
    let perTask = try write(valid.replacingOccurrences(of: #""num_kv_pairs": 4}"#, with: #""num_kv_pairs": 4, "train_examples": 500}"#))
    defer { try? FileManager.default.removeItem(atPath: perTask) }
    let perTaskSweep = try MQARSweep.load(path: perTask)
    let short = try #require(perTaskSweep.points.first { $0.task.seqLen == 64 })
    #expect(try perTaskSweep.run(short).config.trainExamples == 500)
    let clash = try write(valid.replacingOccurrences(of: #""base_conv"]"#, with: #"{"label": "attention", "mixer": "based"}]"#))
    defer { try? FileManager.default.removeItem(atPath: clash) }
    #expect(throws: MQARSweepError.self) { try MQARSweep.load(path: clash) }
    let unknown = try write(valid.replacingOccurrences(of: #""base_conv"]"#, with: #"{"mixer": "base_conv", "window_size": 8}]"#))
    defer { try? FileManager.default.removeItem(atPath: unknown) }
    #expect { try MQARSweep.load(path: unknown) } throws: { "\($0)".contains(unknown) && "\($0)".contains("'window_size'") }
  }

  @Test func formatsLearningRates() {
    #expect(MQARSweep.format(0.001) == "1e-3")
    #expect(MQARSweep.format(0.000464158883) == "4.64e-4")
    #expect(MQARSweep.format(0.0021544) == "2.15e-3")
    #expect(MQARSweep.format(0.01) == "1e-2")
  }

  @Test(arguments: [
    ("{", "not valid JSON"),
    (#"{"name": "s"}"#, "missing key"),
    (#"{"name": "s", "vocab_size": "big", "mixers": [], "d_models": [], "learning_rates": [], "tasks": [], "layers": 2, "epochs": 1, "batch_size": 1, "train_examples": 1, "test_examples": 1, "seed": 1}"#, "vocab_size"),
  ])
  func rejectsBadFilesWithTheirPath(json: String, expected: String) throws {
    let path = try write(json)
    defer { try? FileManager.default.removeItem(atPath: path) }
    do {
      _ = try MQARSweep.load(path: path)
      Issue.record("accepted \(json)")
    } catch {
      #expect("\(error)".contains(path) && "\(error)".contains(expected), "\(error)")
    }
  }

  @Test func rejectsImpossibleTasks() throws {
    let path = try write(valid.replacingOccurrences(of: #""num_kv_pairs": 4"#, with: #""num_kv_pairs": 40"#))
    defer { try? FileManager.default.removeItem(atPath: path) }
    #expect(throws: MQARSweepError.self) { try MQARSweep.load(path: path) }
  }
}
