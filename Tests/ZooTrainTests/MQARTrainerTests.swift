import Foundation
import Testing
import ZooModel
import ZooTracking

@testable import ZooTrain

func tinyMQAR(epochs: Int = 6, target: Double = 0.99, testTasks: [MQARConfig]? = nil) -> MQARTrainingConfig {
  let task = MQARConfig(vocabSize: 128, seqLen: 32, numKVPairs: 2)
  return MQARTrainingConfig(
    model: try! ModelConfig(mixer: "attention", layers: 2, dModel: 32, vocabSize: 128, maxPositions: 64, lMax: 64),
    data: task, testTasks: testTasks, trainExamples: 1_000, testExamples: 200, batch: 32, epochs: epochs,
    learningRate: 3e-3, targetAccuracy: target, seed: 5, dataSeed: 11)
}

@Suite struct MQARTrainerTests {
  @Test func accuracyRisesAndIsLoggedPerEpoch() throws {
    let dir = try WorkDirectory()
    let tracker = InMemoryTracker()
    var trainer = MQARTrainer(config: tinyMQAR(), run: TrainingRun(name: "tiny", directory: dir.path + "/tiny", tracker: tracker))
    trainer.run.progressOnTerminal = false
    let result = try trainer.train()
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
    let dir = try WorkDirectory()
    var trainer = MQARTrainer(config: tinyMQAR(epochs: 50, target: 0.05), run: TrainingRun(name: "stop", directory: dir.path + "/stop", tracker: nil))
    trainer.run.progressOnTerminal = false
    let result = try trainer.train()
    #expect(result.epochs < 50 && result.accuracy >= 0.05)
  }

  @Test func mixedTestSetIsSlicedByTask() throws {
    let dir = try WorkDirectory()
    let tasks = [MQARConfig(vocabSize: 128, seqLen: 32, numKVPairs: 2), MQARConfig(vocabSize: 128, seqLen: 64, numKVPairs: 4)]
    let tracker = InMemoryTracker()
    var trainer = MQARTrainer(config: tinyMQAR(epochs: 2, testTasks: tasks), run: TrainingRun(name: "sliced", directory: dir.path + "/sliced", tracker: tracker))
    trainer.run.progressOnTerminal = false
    let result = try trainer.train()
    #expect(Set(result.sliceAccuracy.keys) == ["L32-kv2", "L64-kv4"])
    let run = try #require(tracker.runs["sliced"])
    #expect(run.values("eval/accuracy/L32-kv2").count == 2 && run.values("eval/accuracy/L64-kv4").count == 2)
  }

  @Test func sameSeedSameRun() throws {
    let dir = try WorkDirectory()
    var a = MQARTrainer(config: tinyMQAR(epochs: 2), run: TrainingRun(name: "a", directory: dir.path + "/a", tracker: nil))
    a.run.progressOnTerminal = false
    var b = MQARTrainer(config: tinyMQAR(epochs: 2), run: TrainingRun(name: "b", directory: dir.path + "/b", tracker: nil))
    b.run.progressOnTerminal = false
    let ra = try a.train()
    let rb = try b.train()
    #expect(ra.accuracy == rb.accuracy && ra.testLoss == rb.testLoss)
  }

  /// Interrupted mid-epoch (and again at an epoch's end), resumed twice: the same weights,
  /// optimizer state and metric history as a run never stopped, and an early stop is not undone.
  @Test func resumeReachesTheSameWeightsAndMetrics() throws {
    let dir = try WorkDirectory()
    let config = tinyMQAR(epochs: 4)
    let reference = InMemoryTracker()
    var straight = MQARTrainer(config: config, run: TrainingRun(name: "a", directory: dir.path + "/a", tracker: reference))
    straight.run.progressOnTerminal = false
    let expected = try straight.train()

    let tracker = InMemoryTracker()
    for stop in [45, 64, nil] {  // 32 steps an epoch: mid-epoch 2, then at the end of epoch 2
      var part = MQARTrainer(config: config, run: TrainingRun(name: "b", directory: dir.path + "/b", tracker: tracker))
      part.run.progressOnTerminal = false
      part.run.resume = tracker.runs["b"] != nil
      part.run.stopAfterStep = stop
      if let stop {
        #expect(throws: TrainError.interrupted(step: stop)) { try part.train() }
        #expect(tracker.runs["b"]?.status == .killed)
      } else {
        let got = try part.train()
        #expect(got.accuracy == expected.accuracy && got.testLoss == expected.testLoss && got.epochs == expected.epochs)
        #expect(got.bestAccuracy == expected.bestAccuracy && got.sliceAccuracy == expected.sliceAccuracy)
      }
    }
    #expect(tracker.runs["b"]?.status == .finished)
    for key in ["train/loss", "eval/loss", "eval/accuracy"] {
      #expect(tracker.runs["b"]!.values(key) == reference.runs["a"]!.values(key), "\(key)")
    }
    let a = try Checkpoint.load(path: straight.run.checkpointPath, as: MQARTrainingConfig.self)
    let b = try Checkpoint.load(path: dir.path + "/b/checkpoint.bin", as: MQARTrainingConfig.self)
    #expect(a.kind == "mqar" && a.step == 4 * 32 && b.step == a.step)
    #expect(a.values == b.values && a.firstMoments == b.firstMoments && a.secondMoments == b.secondMoments)

    // A run that stopped early at its target and was killed before it was marked finished
    // resumes to its result without training further.
    var early = MQARTrainer(config: tinyMQAR(epochs: 50, target: 0.05), run: TrainingRun(name: "c", directory: dir.path + "/c", tracker: nil))
    early.run.progressOnTerminal = false
    let stopped = try early.train()
    early.run.resume = true
    let again = try early.train()
    #expect(again.epochs == stopped.epochs && again.accuracy == stopped.accuracy)
    #expect(try Checkpoint.load(path: early.run.checkpointPath, as: MQARTrainingConfig.self).step == stopped.epochs * 32)
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
