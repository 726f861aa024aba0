import Foundation
import Testing

@testable import ZooSupport

@Suite struct SHA256Tests {
  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    (
      "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    ),
  ])
  func knownAnswers(input: String, digest: String) {
    #expect(SHA256.hex(of: Data(input.utf8)) == digest)
  }

  @Test func incrementalEqualsOneShot() {
    var rng = SplitMix64(seed: 7)
    let bytes = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    var hasher = SHA256()
    var i = 0
    for step in [1, 63, 64, 65, 127, 1000, 3] + Array(repeating: 500, count: 20) where i < bytes.count {
      let j = min(bytes.count, i + step)
      bytes[i..<j].withUnsafeBytes { hasher.update($0) }
      i = j
    }
    bytes[i...].withUnsafeBytes { hasher.update($0) }
    #expect(hasher.finalizeHex() == SHA256.hex(of: bytes))
  }

  @Test func millionAs() {
    let data = Data(repeating: 0x61, count: 1_000_000)
    #expect(SHA256.hex(of: data) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }
}

@Suite struct CSVTests {
  @Test func quotesOnlyWhenNeeded() {
    var table = CSVTable(header: ["name", "value"])
    table.append(["plain", "1"])
    table.append(["has, comma", "2"])
    table.append(["has \"quote\"", "3"])
    table.append(["line\nbreak", "4"])
    table.append(["cr\rhere", "5"])
    let text = table.render()
    #expect(
      text
        == "name,value\nplain,1\n\"has, comma\",2\n\"has \"\"quote\"\"\",3\n\"line\nbreak\",4\n\"cr\rhere\",5\n")
    #expect(CSVTable.parse(text) == [table.header] + table.rows)
  }

  @Test func numbersUseDotDecimals() {
    #expect(CSVTable.number(3) == "3")
    #expect(CSVTable.number(0.125) == "0.125")
    #expect(CSVTable.number(.nan) == "nan")
    #expect(CSVTable.number(-.infinity) == "-inf")
    #expect(CSVTable.number(1.0 / 3.0, digits: 4) == "0.3333")
  }

  @Test func writesAtomically() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-csv-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/sub/t.csv"
    try CSVTable(header: ["a"], rows: [["1"]]).write(to: path)
    #expect(try String(contentsOfFile: path, encoding: .utf8) == "a\n1\n")
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/sub") == ["t.csv"])
  }
}

@Suite struct SplitMix64Tests {
  @Test func deterministicAndInRange() {
    var a = SplitMix64(seed: 42)
    var b = SplitMix64(seed: 42)
    for _ in 0..<1000 {
      #expect(a.next() == b.next())
      let f = a.nextFloat()
      _ = b.nextFloat()
      #expect(f >= 0 && f < 1)
      let k = a.nextInt(below: 7)
      _ = b.nextInt(below: 7)
      #expect((0..<7).contains(k))
    }
  }

  @Test func knownFirstOutput() {
    // Reference value of SplitMix64 with seed 0 (Vigna's splitmix64.c).
    var rng = SplitMix64(seed: 0)
    #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
  }

  @Test func gaussianMoments() {
    var rng = SplitMix64(seed: 1)
    let n = 200_000
    var sum = 0.0
    var sumSq = 0.0
    for _ in 0..<n {
      let x = rng.nextGaussian()
      sum += x
      sumSq += x * x
    }
    #expect(abs(sum / Double(n)) < 0.01)
    #expect(abs(sumSq / Double(n) - 1) < 0.02)
  }
}

@Suite struct TextTableTests {
  @Test func alignsColumns() {
    var table = TextTable(header: ["run", "ppl"])
    table.append(["attn", "9.44"])
    table.append(["hyena", "10.38"])
    #expect(table.render() == "run      ppl\n-----  -----\nattn    9.44\nhyena  10.38\n")
  }
}

@Suite struct ParallelTests {
  @Test func everyIndexOnce() {
    for threads in [1, 2, 3] {
      let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 101)
      counts.initialize(repeating: 0)
      defer { counts.deallocate() }
      let box = UncheckedSendable(counts)
      parallelFor(101, threads: threads) { i in box.value[i] += 1 }
      #expect(counts.allSatisfy { $0 == 1 })
    }
  }
}
