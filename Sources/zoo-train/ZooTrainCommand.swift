import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport
import ZooTensor
import ZooTrain
import ZooTracking

@main
struct ZooTrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo-train",
    abstract: "Train small language models on CPU with Zoology's sequence mixers.",
    discussion: """
      Every run is recorded in the registry (--db, $ZOO_DB, default ./zoo.db); its files go to \
      <runs-dir>/<name>/ (checkpoint.bin, losses.h5). Ctrl-C saves a checkpoint and marks the run \
      killed; continue it with --resume NAME.
      """,
    subcommands: [LMCommand.self, MQARCommand.self, SweepCommand.self, ExportCommand.self])
}

/// Prints `error` as one line and exits 1 (130 for an interruption), saying how to go on where
/// there is a way: `resume` is the command that continues the run.
func failure(_ error: any Error, resume: String? = nil) -> ExitCode {
  var line = "zoo-train: \(error)"
  var code: Int32 = 1
  switch error {
  case TrainError.interrupted:
    line += resume.map { " with: \($0)" } ?? ""
    code = 130
  case TrainError.nonFinite: line += " (--lr)"
  case TrackerError.duplicateRun: line += " (pick another --name, or --resume it)"
  default: break
  }
  writeStandardError(line + "\n")
  return ExitCode(code)
}
