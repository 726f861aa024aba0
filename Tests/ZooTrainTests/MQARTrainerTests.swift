import Foundation
import Testing
import ZooModel
import ZooRegistry

@testable import ZooTrain

func tinyMQAR(epochs: Int = 6, target: Double = 0.99, testTasks: [MQARConfig]? = nil) -> MQARTrainingConfig {
  let task = MQARConfig(vocabSize: 128, seqLen: 32, numKVPairs: 2)
  return MQARTrainingConfig(
    model: ModelConfig(mixer: "attention", dModel: 32, layers: 2, vocabSize: 128, maxPositions: 64, heads: 1, lMax: 64),
    data: task, testTasks: testTasks, trainExamples: 1_000, testExamples: 200, batch: 32, epochs: epochs,
    learningRate: 3e-3, targetAccuracy: target, seed: 5, dataSeed: 11)
}

@Suite struct MQARTrainerTests {
  @Test func accuracyRisesAndIsLoggedPerEpoch() throws {
    let tracker = InMemoryTracker()
    var trainer = MQARTrainer(config: tinyMQAR(), name: "tiny", tracker: tracker)
    trainer.progressOnTerminal = false
    let result = try trainer.run()
    let run = try #require(tracker.runs["tiny"])
    #expect(run.status == .finished && run.spec.kind == .mqar)
    #expect(run.spec.params["num_kv_pairs"] == "2" && run.spec.params["seq_len"] == "32")
    #expect(run.goals == ["train/loss": .min, "train/epoch_seconds": MetricGoal.none, "eval/loss": .min, "eval/accuracy": .max])
    let accuracy = run.values("eval/accuracy")
    #expect(accuracy.count == result.epochs)
    // Two kv pairs over 64 value tokens: chance is 1/64; training must do far better.
    #expect(result.bestAccuracy > 0.2, "accuracy per epoch: \(accuracy)")
    let losses = run.values("train/loss")
    #expect(losses.last! < losses.first!)
  }

  @Test func earlyStopAtTheTargetAccuracy() throws {
    var trainer = MQARTrainer(config: tinyMQAR(epochs: 50, target: 0.05), name: "stop", tracker: nil)
    trainer.progressOnTerminal = false
    let result = try trainer.run()
    #expect(result.epochs < 50 && result.accuracy >= 0.05)
  }

  @Test func mixedTestSetIsSlicedByTask() throws {
    let tasks = [MQARConfig(vocabSize: 128, seqLen: 32, numKVPairs: 2), MQARConfig(vocabSize: 128, seqLen: 64, numKVPairs: 4)]
    let tracker = InMemoryTracker()
    var trainer = MQARTrainer(config: tinyMQAR(epochs: 2, testTasks: tasks), name: "sliced", tracker: tracker)
    trainer.progressOnTerminal = false
    let result = try trainer.run()
    #expect(Set(result.sliceAccuracy.keys) == ["L32-kv2", "L64-kv4"])
    let run = try #require(tracker.runs["sliced"])
    #expect(run.values("eval/accuracy/L32-kv2").count == 2 && run.values("eval/accuracy/L64-kv4").count == 2)
  }

  @Test func sameSeedSameRun() throws {
    var a = MQARTrainer(config: tinyMQAR(epochs: 2), name: "a", tracker: nil)
    a.progressOnTerminal = false
    var b = MQARTrainer(config: tinyMQAR(epochs: 2), name: "b", tracker: nil)
    b.progressOnTerminal = false
    let ra = try a.run()
    let rb = try b.run()
    #expect(ra.accuracy == rb.accuracy && ra.testLoss == rb.testLoss)
  }

  @Test func badSettingsAreClearErrors() {
    var config = tinyMQAR()
    config.model.maxPositions = 16
    #expect(throws: TrainError.self) { try config.validate() }
    config = tinyMQAR()
    config.data = MQARConfig(vocabSize: 128, seqLen: 32, numKVPairs: 40)
    #expect(throws: (any Error).self) { try config.validate() }
  }
}
