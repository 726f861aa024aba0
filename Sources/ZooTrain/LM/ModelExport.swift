import Foundation
import ZooModel
import ZooStorage
import ZooSupport
import ZooTracking

/// `zoo-train export`: a run's weights for PyTorch. The directory holds `model.safetensors` (every
/// parameter as float32 under its Zoology `state_dict` name; the head is tied to
/// `backbone.embeddings.word_embeddings.weight` and not stored twice) and `config.json`
/// (`format` = `zoo.export.v2`, `run`, `step`, `model` = the run's ``ModelConfig``, `mixers` = the
/// mixer of each layer, `parameters`, `seq_len`, the `tokenizer`, `tokenizer_sha256` and `eot` of
/// the run's token stores (null when unknown),
/// `zoo_version`). `python/zoo/models/export.py` loads it into Zoo's PyTorch twin.
public enum ModelExport {
  /// The `format` of `config.json`.
  /// v2: `model` holds one mixer config per layer (v1 had one `mixer` list and flat options).
  public static let format = "zoo.export.v2"

  /// What was exported.
  public struct Result: Sendable {
    public var directory: String
    public var step: Int
    public var parameters: Int
    public var tensors: Int
  }

  /// Exports the weights of run `name` from its checkpoint file `checkpoint` into the directory
  /// `directory`, which must not exist or be empty; the files are written into a temporary
  /// directory beside it that is then renamed.
  public static func export(run name: String, checkpoint: String, to directory: String) throws -> Result {
    let kind = try Checkpoint.kind(path: checkpoint)
    guard kind == RunKind.lm.rawValue else {
      throw TrainError.invalid("run '\(name)' is a \(kind) run; only language-model runs (zoo-train lm) can be exported")
    }
    let loaded = try Checkpoint.load(path: checkpoint, as: LMTrainingConfig.self)
    let model = try LanguageModel(config: loaded.config.model, seed: 0)
    guard loaded.names == model.parameters.map(\.name), zip(loaded.values, model.parameters).allSatisfy({ $0.count == $1.tensor.count })
    else {
      throw ModelError.badCheckpoint(path: checkpoint, reason: "its parameters do not match its model config")
    }
    let tensors = zip(model.parameters, loaded.values).map { SafetensorsWriter.Tensor(name: $0.name, shape: $0.tensor.shape, values: $1) }
    let config = loaded.config
    let vocabulary = config.data.last.flatMap { try? TokenStore(path: $0).vocabulary }
    let info: [String: Any] = [
      "format": format, "run": name, "step": loaded.step,
      "model": try JSONSerialization.jsonObject(with: Data(config.model.canonicalJSON.utf8)),
      "mixers": config.model.mixerNames,
      "parameters": model.parameterCount, "seq_len": config.seqLen, "tokenizer": vocabulary?.tokenizer ?? NSNull(),
      "tokenizer_sha256": vocabulary?.tokenizerSHA256 ?? NSNull(), "eot": vocabulary.map { Int($0.endOfText) } ?? NSNull(), "zoo_version": zooVersion,
    ]
    let configData = try JSONSerialization.data(withJSONObject: info, options: [.prettyPrinted, .sortedKeys])

    let out = URL(fileURLWithPath: directory).standardizedFileURL
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: out.path, isDirectory: &isDirectory) {
      guard isDirectory.boolValue, try FileManager.default.contentsOfDirectory(atPath: out.path).isEmpty else {
        throw TrainError.invalid("\(out.path) already exists and is not an empty directory")
      }
    }
    let temporary = AtomicFile.temporaryPath(for: out.path)
    do {
      try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
      try SafetensorsWriter.encode(tensors, metadata: ["format": "pt", "zoo_run": name])
        .write(to: URL(fileURLWithPath: temporary + "/model.safetensors"))
      try (configData + Data("\n".utf8)).write(to: URL(fileURLWithPath: temporary + "/config.json"))
      try AtomicFile.commit(temporary: temporary, to: out.path)
    } catch {
      try? FileManager.default.removeItem(atPath: temporary)
      throw error
    }
    return Result(directory: out.path, step: loaded.step, parameters: model.parameterCount, tensors: tensors.count)
  }
}
