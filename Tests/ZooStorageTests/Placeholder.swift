import Testing

@Suite struct ZooStorageTestsPlaceholder {
  @Test func placeholder() { #expect(Bool(true)) }
}
