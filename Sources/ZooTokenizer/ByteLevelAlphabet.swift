/// GPT-2's byte-to-character map (`bytes_to_unicode` in GPT-2's `encoder.py`, `ByteLevel` in
/// `tokenizers`): each byte is shown as one printable character, the printable Latin-1 bytes as
/// themselves and the other 68 as U+0100 onward, in byte order. A byte-level `tokenizer.json`
/// writes its vocabulary and merges in these characters.
enum ByteLevelAlphabet {
  /// The character of each byte.
  static let characters: [Unicode.Scalar] = {
    var printable = Set<Int>(0x21...0x7E)
    printable.formUnion(0xA1...0xAC)
    printable.formUnion(0xAE...0xFF)
    var next: UInt32 = 0x100
    return (0..<256).map { b in
      if printable.contains(b) { return Unicode.Scalar(UInt32(b))! }
      defer { next += 1 }
      return Unicode.Scalar(next)!
    }
  }()

  /// The byte of each character.
  static let bytes: [Unicode.Scalar: UInt8] = Dictionary(
    uniqueKeysWithValues: characters.enumerated().map { ($0.element, UInt8($0.offset)) })

  /// The bytes a vocabulary string stands for, or nil when it has a character outside the alphabet.
  static func decode(_ token: String) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(token.unicodeScalars.count)
    for scalar in token.unicodeScalars {
      guard let b = bytes[scalar] else { return nil }
      out.append(b)
    }
    return out
  }
}
