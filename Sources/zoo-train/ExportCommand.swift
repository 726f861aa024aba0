import ArgumentParser
import Foundation
import ZooRegistry
import ZooTrain

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Write a run's weights (safetensors, Zoology's state_dict names) and model config for PyTorch.",
    discussion: """
      DIR/model.safetensors holds every parameter as float32 (the head is tied to the token \
      embedding and not stored twice); DIR/config.json (format zoo.export.v2) the model config, \
      the mixer of each layer, the run name, the step and the token stores' tokenizer. The \
      weights are the run's checkpoint: the final one of a finished run, the last one of a \
      killed run. Load it in Python with zoo.models.load_export(DIR), or score it with \
      zoo-score --model DIR.

      Example: zoo-train export attn-d128 --out exports/attn-d128
      """)

  @Argument(help: "Run name.") var name: String
  @Option(help: "Output directory (created; it must not exist or be empty).") var out: String
  @Option(name: .customLong("runs-dir"), help: "Directory of run files (for runs whose checkpoint the registry does not list).")
  var runsDir = "runs"
  @Option(help: "Registry file (default: $ZOO_DB or ./zoo.db).") var db: String?

  func run() throws {
    do {
      let registry = try Registry(path: Registry.resolvePath(db))
      let result = try ModelExport.export(run: name, checkpoint: try checkpoint(registry: registry), to: out)
      print("exported \(name) (step \(result.step), \(result.parameters) parameters in \(result.tensors) tensors) to \(result.directory)")
    } catch {
      throw failure(error)
    }
  }

  /// The run's checkpoint: its last `checkpoint` artifact in the registry, else
  /// `<runs-dir>/<name>/checkpoint.bin` (where a killed run leaves its last one).
  func checkpoint(registry: Registry) throws -> String {
    let run = try registry.requireRun(named: name)
    let fallback = runDirectory(runsDir, name) + "/checkpoint.bin"
    let path = try registry.artifacts(ofRun: name).last { $0.kind == "checkpoint" }?.path ?? fallback
    guard FileManager.default.fileExists(atPath: path) else {
      throw TrainError.invalid("run '\(name)' (kind \(run.kind)) has no checkpoint at \(path); only zoo-train lm runs can be exported")
    }
    return path
  }
}
