import Foundation
import Testing
import ZooDashboard

/// A `zoo-runs serve` process, stopped when released.
final class ServeProcess {
  let process = Process()
  let port: UInt16
  let stderr: Pipe

  /// Starts `zoo-runs serve arguments --port 0` and waits for the URL it prints.
  init(_ arguments: [String], in directory: String) throws {
    process.executableURL = Tool.productsDirectory.appendingPathComponent("zoo-runs")
    process.arguments = ["serve", "--port", "0"] + arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    let out = Pipe()
    stderr = Pipe()
    process.standardOutput = out
    process.standardError = stderr
    process.standardInput = FileHandle.nullDevice
    try process.run()
    var line = ""
    while !line.contains("\n") {
      let chunk = out.fileHandleForReading.availableData
      guard !chunk.isEmpty else { break }
      line += String(decoding: chunk, as: UTF8.self)
    }
    guard let range = line.range(of: #":(\d+)/"#, options: .regularExpression), let port = UInt16(line[range].dropFirst().dropLast())
    else { throw ServeTestFailure(description: "zoo-runs serve printed no URL: \(line)") }
    self.port = port
  }

  deinit { stop() }

  /// SIGKILL: a child started from a test thread inherits its blocked SIGTERM.
  func stop() {
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
  }

  /// What it wrote on stderr so far (only after it stopped).
  var errors: String { String(decoding: stderr.fileHandleForReading.availableData, as: UTF8.self) }
}

/// Headless Debian chromium, when installed (`.ci/setup` installs it).
enum Browser {
  static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

  /// Runs chromium headless on `url` with `mode` (`--dump-dom` or `--screenshot=FILE`); its stdout.
  static func run(_ mode: String, _ url: String, profile: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path!)
    process.arguments = [
      "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--user-data-dir=\(profile)",
      "--window-size=1200,900", mode, url,
    ]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let timer = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + 90, execute: timer)
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    timer.cancel()
    return String(decoding: data, as: UTF8.self)
  }
}

/// Distinct colours and the share of pixels unlike the most common one, from python3's zlib
/// (PNG decoded by hand: 8-bit RGB/RGBA, the five scanline filters).
func pngColourStats(_ path: String) throws -> (colours: Int, foreground: Double) {
  let script = """
    import sys, zlib, struct, collections
    data = open(sys.argv[1], 'rb').read()
    assert data[:8] == b'\\x89PNG\\r\\n\\x1a\\n'
    pos, idat = 8, b''
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8]); body = data[pos + 8:pos + 8 + n]; pos += 12 + n
        if kind == b'IHDR': w, h, depth, ctype = struct.unpack('>IIBB', body[:10])
        if kind == b'IDAT': idat += body
    assert depth == 8 and ctype in (2, 6)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat); stride = w * bpp; prev = bytearray(stride); counts = collections.Counter()
    for y in range(h):
        f = raw[y * (stride + 1)]; line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0; b = prev[i]; c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        counts.update(bytes(line[i:i + 3]) for i in range(0, stride, bpp * 4))
        prev = line
    total = sum(counts.values())
    print(len(counts), 1 - counts.most_common(1)[0][1] / total)
    """
  let process = Process()
  process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
  process.arguments = ["python3", "-c", script, path]
  let out = Pipe()
  process.standardOutput = out
  try process.run()
  let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  process.waitUntilExit()
  let parts = text.split(separator: " ")
  guard process.terminationStatus == 0, parts.count == 2, let colours = Int(parts[0]),
    let share = Double(parts[1].trimmingCharacters(in: .whitespacesAndNewlines))
  else { throw ServeTestFailure(description: "cannot decode \(path): \(text)") }
  return (colours, share)
}

@Suite struct ServeCLITests {
  let queries = Tool.packageRoot.appendingPathComponent("queries").path

  @Test func servesLoopbackAndWarnsForOtherHosts() throws {
    let scratch = try Scratch()
    let db = scratch.path + "/zoo.db"
    let server = try ServeProcess(["--db", db, "--queries", queries], in: scratch.path)
    let missing = try LoopbackClient.get("/", port: server.port)
    #expect(missing.status == 503 && missing.text.contains("no registry at"))
    #expect(try LoopbackClient.get("/nope", port: server.port).status == 404)
    let any = try ServeProcess(["--db", db, "--host", "0.0.0.0"], in: scratch.path)
    #expect(try LoopbackClient.get("/queries", port: any.port).status == 200)
    any.stop()
    #expect(any.errors.contains("warning: listening on 0.0.0.0, not loopback"))
    let bad = try Tool.run("zoo-runs", ["serve", "--host", "nonsense", "--db", db], in: scratch.path)
    #expect(bad.status == 1 && bad.stderr.contains("cannot serve"), "\(bad.stderr)")
  }

  /// Real `zoo-train mqar` runs, two tiny LM runs and a `zoo-analyze gap`, served and loaded in
  /// headless chromium: every page renders (the screenshot is not one colour) and every chart the
  /// server drew is in the browser's DOM. With ZOO_SCREENSHOTS=dir, the screenshots are kept there.
  @Test(.enabled(if: Browser.path != nil, "chromium is not installed (.ci/setup installs it: apt-get install chromium)"))
  func everyPageRendersInHeadlessChromium() throws {
    let scratch = try Scratch()
    let env = ["ZOO_DB": scratch.path + "/zoo.db"]
    for mixer in ["attention", "base_conv"] {
      for d in ["16", "32"] {
        for seq in ["32", "64"] {
          let train = try Tool.run(
            "zoo-train",
            [
              "mqar", "--mixer", mixer, "--d-model", d, "--layers", "1", "--seq-len", seq, "--kv-pairs", "4", "--vocab", "128",
              "--train-examples", "256", "--test-examples", "64", "--epochs", "1", "--threads", "1", "--plain",
            ], in: scratch.path, environment: env)
          #expect(train.status == 0, "\(train.stderr.suffix(500))")
        }
      }
    }
    let sample = Tool.packageRoot.appendingPathComponent("Tests/Data/pile-sample").path
    let ingest = try Tool.run("zoo-ingest", ["--out", "tokens", "--plain", sample + "/00.jsonl.zst", sample + "/01.jsonl.zst"], in: scratch.path, environment: env)
    #expect(ingest.status == 0, "\(ingest.stderr)")
    for (mixer, name) in [("attention", "lm-attn"), ("base_conv", "lm-conv")] {
      let train = try Tool.run(
        "zoo-train",
        [
          "lm", "--data", "tokens/00.h5", "tokens/01.h5", "--mixer", mixer, "--d-model", "16", "--layers", "1", "--seq-len", "64",
          "--batch", "4", "--steps", "10", "--eval-tokens", "4096", "--name", name, "--plain",
        ], in: scratch.path, environment: env)
      #expect(train.status == 0, "\(train.stderr.suffix(500))")
    }
    let bigrams = try Tool.run("zoo-analyze", ["bigrams", "--train", "tokens/00.h5", "tokens/01.h5", "--out", "bigrams.bin"], in: scratch.path, environment: env)
    #expect(bigrams.status == 0, "\(bigrams.stderr)")
    let gap = try Tool.run(
      "zoo-analyze", ["gap", "--runs", "lm-attn,lm-conv", "--bigrams", "bigrams.bin", "--out", "analysis"], in: scratch.path, environment: env)
    #expect(gap.status == 0, "\(gap.stderr)")

    let server = try ServeProcess(["--db", scratch.path + "/zoo.db", "--queries", queries], in: scratch.path)
    let run = "mqar-attention-d32-lr1e-3-L64-kv4"
    let pages: [(name: String, target: String, charts: Int)] = [
      ("runs", "/", 0), ("run", "/run?name=\(run)", 2), ("compare", "/compare?run=\(run)&run=mqar-base_conv-d32-lr1e-3-L64-kv4", 2),
      ("run-lm", "/run?name=lm-attn&log=1", 2), ("analyses", "/analyses", 3), ("mqar", "/mqar", 2), ("queries", "/queries", 0),
      ("query", "/query?file=mqar_accuracy_by_d_model.sql", 0),
    ]
    let keep = ProcessInfo.processInfo.environment["ZOO_SCREENSHOTS"]
    for page in pages {
      let html = try LoopbackClient.get(page.target, port: server.port)
      #expect(html.status == 200, "\(page.target): \(html.status) \(html.text.prefix(300))")
      let drawn = html.text.components(separatedBy: "<svg ").count - 1
      #expect(drawn >= page.charts, "\(page.target): \(drawn) charts")
      let url = "http://127.0.0.1:\(server.port)\(page.target)"
      let dom = try Browser.run("--dump-dom", url, profile: scratch.path + "/profile")
      #expect(dom.contains("</nav>"), "\(page.target): no page in the DOM")
      let svgIDs = html.text.matches(of: /<svg id="([^"]+)"/).map { String($0.1) }
      #expect(svgIDs.count == drawn)
      for id in svgIDs { #expect(dom.contains("<svg id=\"\(id)\""), "\(page.target): chart \(id) not in the DOM") }
      let png = scratch.path + "/\(page.name).png"
      _ = try Browser.run("--screenshot=\(png)", url, profile: scratch.path + "/profile")
      let stats = try pngColourStats(png)
      #expect(stats.colours > 8 && stats.foreground > 0.01, "\(page.target): blank screenshot \(stats)")
      if let keep {
        try? FileManager.default.removeItem(atPath: keep + "/dashboard-\(page.name).png")
        try FileManager.default.copyItem(atPath: png, toPath: keep + "/dashboard-\(page.name).png")
      }
    }
  }
}

struct ServeTestFailure: Error {
  var description: String
}
