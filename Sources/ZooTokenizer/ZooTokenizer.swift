/// Placeholder until this module lands.
enum ZooTokenizerModule {}
