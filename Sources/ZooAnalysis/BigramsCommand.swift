import Foundation
import ZooStorage

/// `zoo-analyze bigrams`: counts the bigrams of training token stores within a memory budget and
/// writes a bigram counts file (``BigramCountsFile``).
public enum BigramsCommand {
  /// Counts `stores` into `output`; `progress` gets tokens done and total. Returns the header written.
  public static func run(
    stores paths: [String], output: String, budgetBytes: Int, delta: Double = 0.01, acrossDocuments: Bool = true,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> BigramCountsHeader {
    guard !paths.isEmpty else { throw AnalysisError.invalidRequest("no training stores given") }
    let stores = try paths.map { try TokenStore(path: $0) }
    let total = stores.reduce(0) { $0 + $1.tokenCount }
    let (counts, vocabulary, sources) = try BigramCounting.count(
      stores: stores, budgetBytes: budgetBytes, delta: delta, acrossDocuments: acrossDocuments
    ) { progress($0, total) }
    let header = BigramCountsFile.header(
      for: counts, acrossDocuments: acrossDocuments, vocabulary: vocabulary, sources: sources)
    try BigramCountsFile.write(counts, header: header, to: output)
    return header
  }
}
