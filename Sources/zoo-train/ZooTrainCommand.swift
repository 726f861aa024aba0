import ArgumentParser
import Foundation
import ZooRegistry
import ZooSupport
import ZooTensor
import ZooTrain

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
  switch error as? TrainError {
  case .interrupted?:
    writeStandardError("zoo-train: \(error)" + (resume.map { " with: \($0)" } ?? "") + "\n")
    return ExitCode(130)
  case .nonFinite?:
    writeStandardError("zoo-train: \(error) (--lr)\n")
  default:
    writeStandardError("zoo-train: \(error)\n")
  }
  return ExitCode(1)
}
