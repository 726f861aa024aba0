import Foundation

/// The tokenizers Zoo knows by name, and loading one by name or by `tokenizer.json` path.
public enum Tokenizers {
  /// Names of the bundled tokenizers.
  public static let bundledNames = ["gpt2", "gpt-neox-20b"]

  /// `gpt2` (tiktoken ranks), `gpt-neox-20b` (its `tokenizer.json`), both shipped with the
  /// package, or the path of a Hugging Face `tokenizer.json` of the byte-level BPE kind.
  public static func load(_ nameOrPath: String) throws -> any Tokenizer {
    switch nameOrPath {
    case "gpt2": return try GPT2Tokenizer.bundled()
    case "gpt-neox-20b": return try BPETokenizer.bundledGPTNeoX20B()
    default:
      guard FileManager.default.fileExists(atPath: nameOrPath) else {
        throw TokenizerError.unknownTokenizer(nameOrPath)
      }
      return try BPETokenizer(file: nameOrPath)
    }
  }
}
