import Foundation
import Testing
import ZooModel
import ZooStorage
import ZooSupport
import ZooTensor
import ZooTracking

@testable import ZooTrain

/// A temporary directory for one test.
final class WorkDirectory {
  let path: String
  init() throws {
    path = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-train-\(UUID())").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }
  deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// GPT-2's vocabulary, as the grammar stores claim.
let gpt2Vocabulary = TokenVocabulary(tokenizer: "gpt2", tokenizerSHA256: "", vocabularySize: 50257, endOfText: 50256)

/// A token store of documents that follow a simple grammar over a few ids (learnable in a few
/// dozen steps): "a b c" triples with a random lead token, each document 20–60 tokens.
func grammarStore(at path: String, documents: Int, seed: UInt64, vocabulary: TokenVocabulary = gpt2Vocabulary) throws {
  var rng = SplitMix64(seed: seed)
  let writer = try TokenStoreWriter(path: path, vocabulary: vocabulary)
  for _ in 0..<documents {
    var doc: [UInt32] = []
    let length = 20 + rng.nextInt(below: 40)
    while doc.count < length {
      let lead = UInt32(100 + rng.nextInt(below: 8))
      doc += [lead, lead + 1000, lead + 2000]
    }
    try doc.withUnsafeBufferPointer { try writer.appendDocument($0, subset: "Synthetic") }
  }
  _ = try writer.commit(source: "grammar", sourceSHA256: String(repeating: "0", count: 64), skippedLines: 0)
}

/// The configs of this file: by default the small attention run the trainer tests use; `torch` gives
/// the one of `Fixtures/training.json` (make_torch_training_reference.py).
private func smallConfig(data: [String], steps: Int = 12, lr: Double = 3e-3, torch: TrainingReference? = nil) -> LMTrainingConfig {
  guard let torch else {
    return LMTrainingConfig(
      model: try! ModelConfig(mixer: "attention", layers: 2, options: ["num_heads": .int(2)], dModel: 16, vocabSize: 50257, maxPositions: 32),
      data: data, seqLen: 32, batch: 4, steps: steps, learningRate: lr, warmupSteps: 2, evalTokens: 200, seed: 7,
      checkpointEvery: 5, logEvery: 5)
  }
  let (m, t) = (torch.meta.config, torch.meta.training)
  return LMTrainingConfig(
    model: try! ModelConfig(
      mixer: m.mixer, layers: m.n_layers, options: ["num_heads": .int(m.num_heads)], dModel: m.d_model, vocabSize: m.vocab_size,
      maxPositions: m.max_position_embeddings, hiddenMult: m.hidden_mult, lMax: m.l_max),
    data: data, seqLen: torch.meta.length, batch: torch.meta.batch, steps: t.steps, learningRate: t.lr,
    weightDecay: t.weight_decay, warmupSteps: t.warmup_steps, minLearningRateRatio: t.min_lr_ratio, gradClip: t.grad_clip)
}

/// `Fixtures/training.json` and `.bin` of ZooModelTests: a PyTorch twin's initial weights, batches and
/// per-step losses of 10 training steps.
struct TrainingReference {
  struct Entry: Decodable {
    let name: String
    let offset: Int
    let count: Int
  }
  struct Model: Decodable {
    let mixer: String
    let d_model, n_layers, vocab_size, max_position_embeddings, l_max, num_heads, hidden_mult: Int
  }
  struct Training: Decodable {
    let steps, warmup_steps: Int
    let lr, min_lr_ratio, grad_clip, weight_decay: Double
  }
  struct Meta: Decodable {
    let config: Model
    let training: Training
    let batch, length: Int
    let inputs, targets: [[Int32]]
    let losses, learning_rates, grad_norms: [Double]
    let tensors: [Entry]
  }
  let meta: Meta
  let floats: [Float]

  init() throws {
    let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../ZooModelTests/Fixtures")
    meta = try JSONDecoder().decode(Meta.self, from: Data(contentsOf: dir.appendingPathComponent("training.json")))
    let data = try Data(contentsOf: dir.appendingPathComponent("training.bin"))
    floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }

  func tensor(_ name: String) -> [Float]? {
    meta.tensors.first { $0.name == name }.map { Array(floats[$0.offset..<($0.offset + $0.count)]) }
  }
}

/// True when both hold the same bits; otherwise records where they first differ.
func identical(_ a: [[Float]], _ b: [[Float]]) -> Bool {
  guard a.count == b.count else {
    Issue.record("\(a.count) vs \(b.count) tensors")
    return false
  }
  for (t, (x, y)) in zip(a, b).enumerated() {
    guard x.count == y.count else {
      Issue.record("tensor \(t): \(x.count) vs \(y.count) values")
      return false
    }
    let differing = zip(x, y).filter { $0.bitPattern != $1.bitPattern }.count
    if differing > 0, let i = x.indices.first(where: { x[$0].bitPattern != y[$0].bitPattern }) {
      Issue.record("tensor \(t): \(differing) values differ, first at \(i): \(x[i]) vs \(y[i])")
      return false
    }
  }
  return true
}

@Suite struct LMTrainerTests {
  @Test func trainsWritesLossesAndRecordsTheRun() throws {
    let dir = try WorkDirectory()
    let store = dir.path + "/g.h5"
    try grammarStore(at: store, documents: 80, seed: 1)
    let tracker = InMemoryTracker()
    var trainer = LMTrainer(config: smallConfig(data: [store], steps: 150, lr: 1e-2), run: TrainingRun(name: "g", directory: dir.path + "/runs/g", tracker: tracker))
    trainer.config.batch = 8
    trainer.run.progressOnTerminal = false
    let result = try trainer.train()
    let run = try #require(tracker.runs["g"])
    #expect(run.status == .finished)
    #expect(run.values("train/loss").count == 150)
    #expect(run.goals == [
      "train/loss": .min, "train/lr": MetricGoal.none, "train/grad_norm": MetricGoal.none, "train/tokens_per_s": .max,
      "eval/loss": .min, "eval/unigram_loss": .min, "train/unigram_entropy": MetricGoal.none,
    ])
    #expect(run.artifacts.map(\.kind) == ["losses", "checkpoint"])
    // The grammar makes 2 of every 3 tokens predictable: well below the unigram entropy.
    #expect(result.evalLoss < result.unigramHeldOutLoss - 0.5, "eval \(result.evalLoss) vs unigram \(result.unigramHeldOutLoss)")

    let reader = try LossFileReader(path: result.lossesPath)
    #expect(reader.metadata.rangeEnd - reader.metadata.rangeStart == 200)
    #expect(reader.metadata.run == "g" && reader.metadata.seqLen == 32 && reader.metadata.tokenStore == "g.h5")
    let starts = try reader.windowStarts()
    #expect(starts == stride(from: 0, to: 200, by: 32).map { UInt64($0) })
    let losses = try reader.readLosses(0..<200)
    for (i, l) in losses.enumerated() { #expect(l.isNaN == starts.contains(UInt64(i)), "position \(i)") }
    let finite = losses.filter { !$0.isNaN }.map(Double.init)
    let mean = finite.reduce(0, +) / Double(finite.count)
    #expect(abs(mean - run.values("eval/loss")[0]) < 1e-9)
    #expect(abs(mean - result.evalLoss) < 1e-9)
  }

  /// Interrupt after 5 steps, resume, and end with the same weights as an uninterrupted run.
  @Test func resumeReachesTheSameWeights() throws {
    let dir = try WorkDirectory()
    let store = dir.path + "/g.h5"
    try grammarStore(at: store, documents: 60, seed: 2)
    let config = smallConfig(data: [store])
    var straight = LMTrainer(config: config, run: TrainingRun(name: "a", directory: dir.path + "/a", tracker: nil))
    straight.run.progressOnTerminal = false
    _ = try straight.train()

    let tracker = InMemoryTracker()
    var first = LMTrainer(config: config, run: TrainingRun(name: "b", directory: dir.path + "/b", tracker: tracker))
    first.run.progressOnTerminal = false
    first.run.stopAfterStep = 5
    #expect(throws: TrainError.interrupted(step: 5)) { try first.train() }
    #expect(tracker.runs["b"]?.status == .killed)
    var second = LMTrainer(config: config, run: TrainingRun(name: "b", directory: dir.path + "/b", tracker: tracker))
    second.run.progressOnTerminal = false
    second.run.resume = true
    _ = try second.train()
    #expect(tracker.runs["b"]?.status == .finished)

    let a = try Checkpoint.load(path: straight.run.checkpointPath, as: LMTrainingConfig.self)
    let b = try Checkpoint.load(path: second.run.checkpointPath, as: LMTrainingConfig.self)
    #expect(a.step == 12 && b.step == 12)
    #expect(identical(a.values, b.values))
    #expect(identical(a.firstMoments, b.firstMoments) && identical(a.secondMoments, b.secondMoments))
  }

  /// Training with 1 and 2 threads (which really splits the work: checked) gives the same weights, bit for bit.
  @Test func sameWeightsWithOneAndTwoThreads() throws {
    let dir = try WorkDirectory()
    let store = dir.path + "/g.h5"
    try grammarStore(at: store, documents: 60, seed: 3)
    var checkpoints: [Checkpoint.Loaded<LMTrainingConfig>] = []
    for threads in [1, 2] {
      var trainer = LMTrainer(config: smallConfig(data: [store], steps: 6), run: TrainingRun(name: "t\(threads)", directory: dir.path + "/t\(threads)", tracker: nil))
      trainer.run.progressOnTerminal = false
      trainer.run.threads = threads
      let (_, splits) = try ParallelSplits.counting { try trainer.train() }
      #expect((splits > 0) == (threads > 1), "\(threads) threads: \(splits) split calls")
      checkpoints.append(try Checkpoint.load(path: trainer.run.checkpointPath, as: LMTrainingConfig.self))
    }
    #expect(identical(checkpoints[0].values, checkpoints[1].values))
  }

  /// 10 steps of the trainer's recipe (warmup, cosine decay, gradient clipping, AdamW with weight decay
  /// on every parameter) from the PyTorch twin's weights: every step's loss, learning rate and gradient
  /// norm equal PyTorch's (llm.c's `expected_losses` check).
  @Test func tenStepsMatchPyTorch() throws {
    let torch = try TrainingReference()
    let config = smallConfig(data: [], torch: torch)
    let model = try LanguageModel(config: config.model, seed: config.seed)
    for p in model.parameters {
      let values = try #require(torch.tensor("param:" + p.name), "reference lacks \(p.name)")
      #expect(values.count == p.tensor.count, "\(p.name)")
      _ = p.tensor.value.update(fromContentsOf: values)
    }
    #expect(torch.meta.tensors.count == model.parameters.count)
    // As LMTrainer's step.
    let parameters = model.parameters.map(\.tensor)
    let optimizer = AdamW(sizes: parameters.map(\.count), learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    var clipped = 0
    for step in 0..<config.steps {
      let lr = config.learningRate(at: step)
      #expect(abs(lr - torch.meta.learning_rates[step]) < 1e-12, "step \(step): lr \(lr)")
      optimizer.learningRate = Float(lr)
      let tape = Tape()
      let out = model.loss(inputs: torch.meta.inputs[step], targets: torch.meta.targets[step], batch: config.batch, length: config.seqLen, tape: tape)
      tape.backward()
      let norm = clipGradientNorm(parameters, maxNorm: config.gradClip)
      optimizer.update(parameters)
      model.zeroGradients()
      if norm > config.gradClip { clipped += 1 }
      #expect(abs(out.mean - torch.meta.losses[step]) < 1e-4, "step \(step): loss \(out.mean) vs PyTorch \(torch.meta.losses[step])")
      #expect(abs(norm - torch.meta.grad_norms[step]) < 1e-4 * torch.meta.grad_norms[step], "step \(step): grad norm \(norm) vs \(torch.meta.grad_norms[step])")
    }
    #expect(clipped > 0 && clipped < config.steps, "\(clipped) of \(config.steps) steps clipped: both branches")
  }

  @Test func divergingLossFailsTheRun() throws {
    let dir = try WorkDirectory()
    let store = dir.path + "/g.h5"
    try grammarStore(at: store, documents: 60, seed: 4)
    var config = smallConfig(data: [store], steps: 30, lr: 1e12)
    config.gradClip = 0
    let tracker = InMemoryTracker()
    var trainer = LMTrainer(config: config, run: TrainingRun(name: "boom", directory: dir.path + "/boom", tracker: tracker))
    trainer.run.progressOnTerminal = false
    #expect {
      try trainer.train()
    } throws: { error in
      if case .nonFinite = error as? TrainError { return true }
      return false
    }
    #expect(tracker.runs["boom"]?.status == .failed)
  }

  @Test func badSettingsAreClearErrors() throws {
    let dir = try WorkDirectory()
    #expect(throws: TrainError.invalid("no such token store: /nonexistent.h5")) {
      try smallConfig(data: ["/nonexistent.h5"]).validate()
    }
    let store = dir.path + "/g.h5"
    try grammarStore(at: store, documents: 5, seed: 5)
    var config = smallConfig(data: [store])
    config.evalTokens = 1_000_000
    var trainer = LMTrainer(config: config, run: TrainingRun(name: "x", directory: dir.path + "/x", tracker: nil))
    trainer.run.progressOnTerminal = false
    #expect(throws: TrainError.self) { try trainer.train() }
    config = smallConfig(data: [store])
    config.model.vocabSize = 1000  // the store holds <|endoftext|> = 50256
    trainer = LMTrainer(config: config, run: TrainingRun(name: "y", directory: dir.path + "/y", tracker: nil))
    trainer.run.progressOnTerminal = false
    #expect(throws: TrainError.invalid("\(store): token id 50256 is outside the model's vocabulary of 1000")) { try trainer.train() }
    config = smallConfig(data: [store])
    config.seqLen = 64
    #expect(throws: TrainError.self) { try config.validate() }  // longer than the 32 positions
    // Stores of two tokenizers in one run.
    let other = dir.path + "/neox.h5"
    let neox = TokenVocabulary(tokenizer: "gpt-neox-20b", tokenizerSHA256: "", vocabularySize: 50277, endOfText: 0)
    try grammarStore(at: other, documents: 5, seed: 5, vocabulary: neox)
    #expect(throws: TrainError.invalid(
      "\(other) holds gpt-neox-20b (50277 ids, EOT 0) ids but \(store) holds gpt2 (50257 ids, EOT 50256): one run trains on one tokenizer"
    )) { try TokenCorpus.vocabulary(of: [store, other]) }
    #expect(try TokenCorpus.vocabulary(of: [other]) == neox)
  }

  @Test func learningRateScheduleWarmsUpThenDecays() {
    let c = LMTrainingConfig(
      model: ModelConfig(mixers: [AttentionMixer.Config.defaults(layer: 0)]), data: [], seqLen: 8, batch: 1, steps: 100, learningRate: 1e-3, warmupSteps: 10)
    #expect(abs(c.learningRate(at: 0) - 1e-4) < 1e-12)
    #expect(abs(c.learningRate(at: 9) - 1e-3) < 1e-12)
    #expect(abs(c.learningRate(at: 10) - 1e-3) < 1e-12)
    #expect(abs(c.learningRate(at: 100) - 1e-4) < 1e-12)
    #expect(c.learningRate(at: 50) < c.learningRate(at: 20))
  }
}
