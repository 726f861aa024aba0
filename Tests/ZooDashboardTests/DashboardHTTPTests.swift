import Foundation
import Testing
import ZooRegistry
import ZooSupport
import ZooTracking

@testable import ZooDashboard

/// A registry with an MQAR run, a running LM run with a hostile name, an artifact and a gap
/// analysis, served on a random loopback port.
final class Fixture: @unchecked Sendable {
  let directory: URL
  let databasePath: String
  let artifactPath: String
  static let hostile = "<script>alert(1)</script>"

  init() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-dashboard-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    databasePath = directory.appendingPathComponent("zoo.db").path
    artifactPath = directory.appendingPathComponent("model.bin").path
    try Data("weights".utf8).write(to: URL(fileURLWithPath: artifactPath))
    let registry = try Registry(path: databasePath)
    for (name, d) in [("attn-d64", 64), ("hyena-d64", 64), ("attn-d128", 128)] {
      let run = try registry.startRun(
        RunSpec(
          name: name, kind: .mqar, mixer: String(name.prefix { $0 != "-" }), configJSON: "{}",
          params: ["d_model": String(d), "seq_len": "64", "num_kv_pairs": "4", "lr": name.hasPrefix("attn") ? "0.001" : "0.003"]))
      for step in 0..<100 {
        run.logMetric(Metric("train/loss", goal: .min), step: step, value: 3 / Double(step + 1))
        run.logMetric(Metric("eval/accuracy", goal: .max), step: step, value: Double(step) / 100)
      }
      if name == "attn-d64" { try run.logArtifact(kind: "checkpoint", path: artifactPath) }
      try run.finish(.finished)
    }
    let running = try registry.startRun(
      RunSpec(name: Self.hostile, kind: .lm, mixer: "attention", configJSON: "{}", params: ["note": "<b>bold</b>"]))
    running.logMetric(Metric("train/loss", goal: .min), step: 0, value: 5)
    try running.flush()
    let gap = directory.appendingPathComponent("gap.csv").path
    try CSVTable(
      header: ["run", "baseline", "tokens", "ar_share", "ppl_all", "ppl_ar", "ppl_other", "gap_explained_by_ar"],
      rows: [["hyena-d64", "attn-d64", "1000", "0.1", "20", "40", "18", "0.7"]]
    ).write(to: gap)
    let distance = directory.appendingPathComponent("ar_by_distance.csv").path
    try CSVTable(
      header: ["run", "distance_lo", "distance_hi", "tokens", "ppl"],
      rows: [["attn-d64", "1", "10", "50", "8"], ["attn-d64", "10", "100", "30", "12"], ["hyena-d64", "1", "10", "50", "20"]]
    ).write(to: distance)
    try registry.recordAnalysis(command: "gap", arguments: ["baseline": "attn-d64"], outputs: [gap, distance])
  }

  deinit { try? FileManager.default.removeItem(at: directory) }

  static var queries: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("queries").path
  }

  func dashboard(path: String? = nil) -> Dashboard { Dashboard(databasePath: path ?? databasePath, queriesDirectory: Self.queries) }
}

/// GETs `target` off the cooperative pool (the client blocks).
func get(_ target: String, port: UInt16, method: String = "GET") async throws -> LoopbackClient.Reply {
  try await withCheckedThrowingContinuation { continuation in
    DispatchQueue.global().async {
      continuation.resume(with: Result { try LoopbackClient.get(target, port: port, method: method) })
    }
  }
}

@Suite(.serialized) struct DashboardHTTPTests {
  let fixture: Fixture
  let port: UInt16

  init() async throws {
    fixture = try Fixture()
    port = try await DashboardServer.start(fixture.dashboard(), host: "127.0.0.1", port: 0).port
  }

  @Test func runsPageListsFiltersSortsAndEscapes() async throws {
    let page = try await get("/", port: port)
    #expect(page.status == 200)
    #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
    #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
    #expect(!page.text.contains(Fixture.hostile))
    #expect(page.text.contains("4 of 4 runs shown") && page.text.contains("running: 1"))
    #expect(page.text.contains("http-equiv=\"refresh\""))
    let mqar = try await get("/?kind=mqar&mixer=attn&sort=name&dir=asc", port: port)
    #expect(mqar.status == 200 && mqar.text.contains("2 of 4 runs shown"))
    #expect(mqar.text.range(of: "attn-d128")!.lowerBound < mqar.text.range(of: "attn-d64\"")!.lowerBound)
    #expect(try await get("/?name=hyena", port: port).text.contains("1 of 4 runs shown"))
    for column in Dashboard.runColumns { #expect(try await get("/?sort=\(column)&dir=asc", port: port).status == 200) }
    #expect(try await get("/?sort=bogus", port: port).status == 400)
    #expect(try await get("/?dir=up", port: port).status == 400)
    #expect(try await get("/?status=zombie", port: port).status == 400)
  }

  @Test func runPageShowsParamsCurvesAndArtifacts() async throws {
    let page = try await get("/run?name=attn-d64", port: port)
    #expect(page.status == 200)
    #expect(page.text.components(separatedBy: "<svg").count - 1 == 2)
    let digest = try SHA256.hex(ofFile: fixture.artifactPath)
    #expect(page.text.contains("num_kv_pairs") && page.text.contains(digest))
    #expect(page.text.contains("/artifact?id=1") && !page.text.contains("http-equiv=\"refresh\""))
    #expect(try await get("/run?name=attn-d64&log=1", port: port).text.contains("train/loss (log)"))
    let svg = try await get("/run?name=attn-d64&download=1-train-loss.svg", port: port)
    #expect(svg.status == 200 && svg.headers["content-type"] == "image/svg+xml" && svg.text.hasPrefix("<svg"))
    let csv = try await get("/run?name=attn-d64&download=1-train-loss.csv", port: port)
    #expect(csv.status == 200 && CSVTable.parse(csv.text).count == 101)
    let hostile = try await get("/run?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E", port: port)
    #expect(hostile.status == 200 && !hostile.text.contains(Fixture.hostile) && !hostile.text.contains("<b>bold"))
    #expect(hostile.text.contains("&lt;b&gt;bold&lt;/b&gt;") && hostile.text.contains("http-equiv=\"refresh\""))
    #expect(try await get("/run?name=nobody", port: port).status == 404)
    #expect(try await get("/run", port: port).status == 400)
    #expect(try await get("/run?name=attn-d64&log=yes", port: port).status == 400)
    #expect(try await get("/run?name=attn-d64&download=9-none.svg", port: port).status == 404)
    #expect(try await get("/run?name=attn-d64&download=1-train-loss.png", port: port).status == 400)
  }

  @Test func compareShowsDifferingParamsAndOverlaidCurves() async throws {
    let page = try await get("/compare?run=attn-d64&run=hyena-d64&run=attn-d128", port: port)
    #expect(page.status == 200)
    #expect(page.text.contains(">d_model<") && page.text.contains(">lr<") && !page.text.contains(">seq_len<"))
    let csv = try await get("/compare?run=attn-d64&run=hyena-d64&download=0-eval-accuracy.csv", port: port)
    #expect(Set(CSVTable.parse(csv.text).dropFirst().compactMap(\.first).filter { !$0.isEmpty }) == ["attn-d64", "hyena-d64"])
    #expect(try await get("/compare?run=attn-d64", port: port).status == 400)
    #expect(try await get("/compare?run=attn-d64&run=ghost", port: port).status == 404)
  }

  @Test func analysesMQARAndQueries() async throws {
    let analyses = try await get("/analyses", port: port)
    #expect(analyses.status == 200 && analyses.text.contains("gap_explained_by_ar"))
    #expect(analyses.text.contains("<svg id=\"a1-ppl\"") && analyses.text.contains("<svg id=\"a1-distance\""))
    #expect(try await get("/analyses?download=a1-ppl.csv", port: port).text.contains("hyena-d64,40,18"))
    let mqar = try await get("/mqar", port: port)
    #expect(mqar.status == 200 && mqar.text.contains("<svg id=\"seq64\""))
    let panel = try await get("/mqar?download=seq64.csv", port: port)
    #expect(CSVTable.parse(panel.text).contains(["attn", "128", "0.99"]))
    let list = try await get("/queries", port: port)
    #expect(list.text.contains("mqar_accuracy_by_d_model.sql") && list.text.contains("runs_by_mixer_status.sql"))
    let rows = try await get("/query?file=runs_by_mixer_status.sql", port: port)
    #expect(rows.status == 200 && rows.text.contains("hyena"))
    let download = try await get("/query?file=runs_by_mixer_status.sql&download=rows.csv", port: port)
    #expect(download.headers["content-type"]?.hasPrefix("text/csv") == true && download.text.contains("hyena"))
    for bad in ["../Package.swift", "..%2FPackage.swift", "%2e%2e%2fPackage.swift", "%252e%252e%252fPackage.swift", "/etc/passwd", "nope.sql"] {
      let reply = try await get("/query?file=\(bad)", port: port)
      #expect(reply.status == 404, "\(bad)")
      #expect(!reply.text.contains("PackageDescription"))
    }
  }

  @Test func artifactsOnlyByRegistryIDNoTraversal() async throws {
    let file = try await get("/artifact?id=1", port: port)
    #expect(file.status == 200 && file.text == "weights")
    #expect(try await get("/artifact?id=2", port: port).status == 404)
    for bad in ["/artifact?id=..%2F..%2Fetc%2Fpasswd", "/artifact?id=-1", "/artifact?id=1.0", "/artifact?path=/etc/passwd"] {
      #expect(try await get(bad, port: port).status == 400, "\(bad)")
    }
    for bad in ["/artifact/../../etc/passwd", "/..%2F..%2Fetc%2Fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "/../zoo.db", "/nope"] {
      let reply = try await get(bad, port: port)
      #expect([400, 404].contains(reply.status), "\(bad): \(reply.status)")
      #expect(!reply.text.contains("root:") && !reply.text.contains("SQLite format"))
    }
    #expect(try await get("/%zz", port: port).status == 400)
    #expect(try await get("/", port: port, method: "POST").status == 405)
    #expect(try await get("/", port: port, method: "HEAD").status == 200)
  }

  @Test func vanishedOrCorruptRegistryGivesAPageNotADeadServer() async throws {
    let moved = fixture.databasePath + ".moved"
    try FileManager.default.moveItem(atPath: fixture.databasePath, toPath: moved)
    let gone = try await get("/", port: port)
    #expect(gone.status == 503 && gone.text.contains("no registry at"))
    try Data(repeating: 0x5a, count: 8192).write(to: URL(fileURLWithPath: fixture.databasePath))
    for target in ["/", "/run?name=attn-d64", "/analyses", "/mqar", "/query?file=datasets.sql", "/artifact?id=1"] {
      let corrupt = try await get(target, port: port)
      #expect(corrupt.status == 503 && corrupt.text.contains("cannot be read"), "\(target)")
    }
    try FileManager.default.removeItem(atPath: fixture.databasePath)
    try FileManager.default.moveItem(atPath: moved, toPath: fixture.databasePath)
    #expect(try await get("/", port: port).status == 200)
  }

  @Test func keepsServingWhileARunWrites() async throws {
    let registry = try Registry(path: fixture.databasePath)
    let run = try registry.startRun(RunSpec(name: "live", kind: .lm, mixer: "attention", configJSON: "{}", params: [:]))
    for step in 0..<50 {
      run.logMetric(Metric("train/loss", goal: .min), step: step, value: 1)
      try run.flush()
      #expect(try await get("/run?name=live", port: port).status == 200)
    }
    try run.finish(.finished)
    #expect(try await get("/run?name=live", port: port).text.contains("finished"))
  }
}

@Suite struct HTMLTests {
  @Test func escapesEveryMarkupCharacter() {
    #expect(HTML.escape("<a href=\"x\" onclick='y'>&</a>") == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
  }

  @Test func queryRoundTripsThroughItsURL() throws {
    let q = Query(path: "/run", items: [("name", "a b&c=d/é"), ("log", "1")])
    #expect(Query(target: q.url) == q)
  }
}
