import Testing

@Suite struct ZooCLITestsPlaceholder {
  @Test func placeholder() { #expect(Bool(true)) }
}
