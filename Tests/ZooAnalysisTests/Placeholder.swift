import Testing

@Suite struct ZooAnalysisTestsPlaceholder {
  @Test func placeholder() { #expect(Bool(true)) }
}
