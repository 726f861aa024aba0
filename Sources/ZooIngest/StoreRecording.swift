import ZooRegistry
import ZooStorage
import ZooSupport

extension ExperimentTracker {
  /// Records a written token store as a dataset; a registry failure is a warning, since the
  /// store itself is complete.
  func recordStore(_ metadata: TokenStoreMetadata, at output: String, skipped: [String: Int]) {
    do {
      try recordDataset(
        DatasetRecord(
          path: output, sha256: try SHA256.hex(ofFile: output), source: metadata.source,
          sourceSHA256: metadata.sourceSHA256, documents: metadata.documents, tokens: metadata.tokens,
          subsets: metadata.subsets, skipped: skipped))
    } catch {
      writeStandardError("zoo-ingest: warning: \(output) written but not recorded in the registry: \(error)\n")
    }
  }
}
