import ArgumentParser

@main
struct ZooAnalyze: ParsableCommand {
  func run() throws { throw ValidationError("not implemented yet") }
}
