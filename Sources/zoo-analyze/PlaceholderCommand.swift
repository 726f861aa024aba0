import ArgumentParser

@main
struct Placeholder: ParsableCommand {
  func run() throws { throw ValidationError("not implemented yet") }
}
