import Foundation
import ZooStorage
import ZooSupport

/// What `zoo-analyze gap` was asked to do.
public struct GapRequest: Sendable {
  /// Each run as a loss file path, or a run name that `runLookup` resolves to one.
  public var runs: [String]
  /// The baseline run's label (default: the first run).
  public var baseline: String?
  /// Where AR hits may look back.
  public var context: ARContext
  /// The token store; when `nil` it is looked up from the loss files' `token_store` attribute.
  public var tokens: String?
  /// A bigram counts file from `zoo-analyze bigrams`, for `ar_by_frequency.csv`.
  public var bigrams: String?
  /// The directory the CSVs go to.
  public var outputDirectory: String

  /// A request; see the properties.
  public init(
    runs: [String], baseline: String? = nil, context: ARContext = .window, tokens: String? = nil, bigrams: String? = nil,
    outputDirectory: String
  ) {
    self.runs = runs
    self.baseline = baseline
    self.context = context
    self.tokens = tokens
    self.bigrams = bigrams
    self.outputDirectory = outputDirectory
  }
}

/// `zoo-analyze gap`: opens the runs' loss files and their token store, checks they belong
/// together, streams the analysis and writes the CSVs.
public enum GapCommand {
  /// Runs `request`. `runLookup` maps a run name (an entry of `runs` that is not an existing
  /// file) to its loss file path, e.g. through the registry; `progress` gets tokens done and total.
  public static func run(
    _ request: GapRequest, runLookup: (String) throws -> String, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> (report: GapReport, files: [String]) {
    guard !request.runs.isEmpty else { throw AnalysisError.invalidRequest("no runs given") }
    var sources: [LossFileSource] = []
    for spec in request.runs {
      if FileManager.default.fileExists(atPath: spec) {
        sources.append(try LossFileSource(path: spec))
      } else {
        sources.append(try LossFileSource(path: try runLookup(spec), run: spec))
      }
    }
    var labels = Set<String>()
    for source in sources where !labels.insert(source.info.run).inserted {
      throw AnalysisError.invalidRequest("run \(source.info.run) is given twice (\(source.info.path))")
    }
    _ = try GapAnalysis.checkRuns(sources)
    let store = try openTokenStore(request.tokens, for: sources[0].info)
    var options = GapAnalysisOptions(context: request.context)
    if let path = request.bigrams {
      let (counts, header) = try BigramCountsFile.read(path: path)
      if let counted = header.vocabulary, !counted.sameTokens(as: store.vocabulary) {
        throw AnalysisError.tokenStoreMismatch(
          file: path, reason: "counts \(counted.summary) ids but \(store.path) holds \(store.vocabulary.summary)")
      }
      options.bigrams = counts
    }
    let total = sources[0].count
    let result = try GapAnalysis.run(tokens: store, losses: sources, options: options) { progress($0, total) }
    let report = try GapReport(result: result, baseline: request.baseline)
    return (report, try report.write(to: request.outputDirectory))
  }

  /// Opens the token store the losses of `info` were computed on: `explicit` if given, else the
  /// file named by the loss file's `token_store` attribute next to the loss file, in the working
  /// directory or in `tokens/`. Its SHA-256 must match the loss file's (when that records one).
  public static func openTokenStore(_ explicit: String?, for info: LossSourceInfo) throws -> TokenStore {
    let path: String
    if let explicit {
      path = explicit
    } else {
      let name = info.tokenStore
      let beside = URL(fileURLWithPath: info.path).deletingLastPathComponent().appendingPathComponent(name).path
      let candidates = [beside, name, "tokens/" + name]
      guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw AnalysisError.tokenStoreMismatch(
          file: info.path, reason: "token store \(name) not found (looked in \(candidates.joined(separator: ", "))); name the store explicitly")
      }
      path = found
    }
    guard FileManager.default.fileExists(atPath: path) else { throw StorageError.missing(path: path) }
    if !info.tokenStoreSHA256.isEmpty {
      let sha = try SHA256.hex(ofFile: path)
      guard sha == info.tokenStoreSHA256 else {
        throw AnalysisError.tokenStoreMismatch(
          file: path, reason: "sha256 \(sha.prefix(12))… differs from \(info.tokenStoreSHA256.prefix(12))… recorded in \(info.path); not the store these losses were computed on")
      }
    }
    return try TokenStore(path: path)
  }
}
