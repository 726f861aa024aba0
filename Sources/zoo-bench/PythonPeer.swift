import Foundation

/// Runs `python3 <arguments>` (a peer benchmark script) through `/usr/bin/env`, with the
/// `NAME=value` assignments of `environment`, and returns its exit status and standard output.
/// Its standard error goes to ours when `showErrors`, else nowhere.
func runPython(_ arguments: [String], environment: [String] = [], showErrors: Bool = false) throws -> (status: Int32, output: Data) {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = environment + ["python3"] + arguments
  let pipe = Pipe()
  process.standardOutput = pipe
  if !showErrors { process.standardError = FileHandle.nullDevice }
  try process.run()
  let output = pipe.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, output)
}
