import ZooStorage
import ZooSupport
import ZooTracking

extension ExperimentTracker {
  /// Records a written token store as a dataset; a registry failure is a warning, since the
  /// store itself is complete. Returns whether it was recorded.
  @discardableResult
  func recordStore(_ metadata: TokenStoreMetadata, at output: String, skipped: [String: Int]) -> Bool {
    do {
      try recordDataset(
        DatasetRecord(
          path: output, sha256: try SHA256.hex(ofFile: output), source: metadata.source,
          sourceSHA256: metadata.sourceSHA256, documents: metadata.documents, tokens: metadata.tokens,
          subsets: metadata.subsets, skipped: skipped))
      return true
    } catch {
      writeStandardError("zoo-ingest: warning: \(output) written but not recorded in the registry: \(error)\n")
      return false
    }
  }

  /// Records an up-to-date store the registry lacks (one renamed into place by a process killed
  /// before its registry row), saying so; `skipped` is computed only then.
  func recordStoreIfMissing(_ metadata: TokenStoreMetadata, at output: String, skipped: () throws -> [String: Int]) throws {
    let recorded = try? dataset(atPath: output)
    guard recorded?.sourceSHA256 != metadata.sourceSHA256 || recorded?.documents != metadata.documents
      || recorded?.tokens != metadata.tokens
    else { return }
    if recordStore(metadata, at: output, skipped: try skipped()) {
      writeStandardError("zoo-ingest: \(output) is up to date but was not in the registry; recorded it\n")
    }
  }
}
