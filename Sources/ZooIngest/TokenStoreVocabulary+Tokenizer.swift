import ZooStorage
import ZooTokenizer

extension TokenStoreVocabulary {
  /// The vocabulary a tokenizer's ids have.
  public init(tokenizer identity: TokenizerIdentity) {
    self.init(
      tokenizer: identity.name, tokenizerSHA256: identity.sha256, vocabularySize: identity.vocabularySize,
      endOfText: identity.endOfText)
  }
}
