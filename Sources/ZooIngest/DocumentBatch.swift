import Foundation
import Synchronization
import ZooSupport
import ZooTokenizer

/// A batch of parsed documents: their UTF-8 texts packed in one arena, and their subsets.
///
/// Ingest fills a batch on one thread, tokenizes it on all threads (one document per task,
/// each task writing only its own slot), then appends the slots to the store in input order,
/// so the output is the same for any thread count.
public struct DocumentBatch: Sendable {
  /// All texts, back to back.
  public private(set) var arena: [UInt8] = []
  /// Document `d` is `arena[starts[d]..<starts[d + 1]]`.
  public private(set) var starts: [Int] = [0]
  /// Subset name of each document.
  public private(set) var subsets: [String] = []

  /// An empty batch.
  public init() {}

  /// Number of documents.
  public var count: Int { subsets.count }
  /// Total text bytes.
  public var textBytes: Int { arena.count }

  /// Adds a document.
  public mutating func append(text: [UInt8], subset: String) {
    arena.append(contentsOf: text)
    starts.append(arena.count)
    subsets.append(subset)
  }

  /// Empties the batch, keeping its capacity.
  public mutating func removeAll() {
    arena.removeAll(keepingCapacity: true)
    starts.removeAll(keepingCapacity: true)
    starts.append(0)
    subsets.removeAll(keepingCapacity: true)
  }

  /// Token ids of every document (without EOT), tokenized on `threads` threads.
  ///
  /// Documents are handed out one at a time from a shared counter, so one long document does
  /// not hold back the others.
  public func tokenize(with tokenizer: any Tokenizer, threads: Int) -> [[UInt32]] {
    let n = count
    let slots = UnsafeMutableBufferPointer<[UInt32]>.allocate(capacity: n)
    slots.initialize(repeating: [])
    defer { slots.deallocate() }
    arena.withUnsafeBufferPointer { arena in
      let shared = UncheckedSendable((slots: slots, arena: arena, starts: starts))
      let next = Mutex(0)
      let work = { @Sendable in
        while true {
          let d = next.withLock { value -> Int in
            defer { value += 1 }
            return value
          }
          guard d < n else { return }
          let start = shared.value.starts[d]
          let text = UnsafeBufferPointer(rebasing: shared.value.arena[start..<shared.value.starts[d + 1]])
          var ids: [UInt32] = []
          ids.reserveCapacity(text.count / 3 + 16)
          tokenizer.encode(text, into: &ids)
          shared.value.slots[d] = ids
        }
      }
      if threads <= 1 {
        work()
      } else {
        DispatchQueue.concurrentPerform(iterations: threads) { _ in work() }
      }
    }
    return Array(slots)
  }
}

/// One batch being tokenized, in the background or inline; `wait()` returns its ids.
final class TokenizeJob: @unchecked Sendable {
  let batch: DocumentBatch
  private var ids: [[UInt32]] = []
  private let done = DispatchGroup()

  init(batch: DocumentBatch, tokenizer: any Tokenizer, threads: Int, background: Bool) {
    self.batch = batch
    if background {
      done.enter()
      DispatchQueue.global().async {
        self.ids = batch.tokenize(with: tokenizer, threads: threads)
        self.done.leave()
      }
    } else {
      ids = batch.tokenize(with: tokenizer, threads: threads)
    }
  }

  /// The ids of every document, once tokenizing has finished.
  func wait() -> [[UInt32]] {
    done.wait()
    return ids
  }
}
