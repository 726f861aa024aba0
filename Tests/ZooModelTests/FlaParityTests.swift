import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

/// GLA and Mamba-2 against flash-linear-attention 0.6.0, the layers Zoology's `mixers/gla.py` and
/// `mixers/mamba2.py` wrap or copy (`Fixtures/fla`, made by `Fixtures/make_fla_reference.py`, which
/// says what of fla runs on CPU: the layers with fla's pure-PyTorch reference paths in place of its
/// Triton kernels, in float32).
@Suite struct FlaParityTests {
  /// fla's `GatedLinearAttention` (Zoology's defaults with 2 heads; and with short convolutions,
  /// 4 heads, expand_k 1, expand_v 0.5) and `Mamba2` (4 heads of 8, d_state 8): output and every gradient.
  @Test(arguments: ["gla", "gla_short_conv", "mamba2"])
  func mixerMatchesFlasLayer(name: String) throws {
    try expectMixerMatches(ZoologyReference(name, folder: "fla"), name: name, relative: 1e-4)
  }

  /// The op, in both views and at several chunk sizes, equals fla's naive recurrences:
  /// `naive_recurrent_gla` (a decay per key) and `naive_recurrent_simple_gla` (one per head, Mamba-2's).
  @Test(arguments: ["gla_core", "simple_gla_core"])
  func opMatchesFlasNaiveRecurrence(name: String) throws {
    let reference = try ZoologyReference(name, folder: "fla")
    let (batch, length, heads) = (reference.meta.batch, reference.meta.length, reference.int("heads"))
    let (keys, values) = (reference.int("keys"), reference.int("values"))
    let scale = Float(try #require(reference.double("scale")))
    let gates = name == "gla_core" ? keys : 1
    let shapes = ["q": keys, "k": keys, "v": values, "g": gates]
    for form in [GatedLinearAttention.Form.recurrent, .chunked(size: 1), .chunked(size: 5), .chunked(size: 12)] {
      let inputs = try ["q", "k", "v", "g"].map { n in
        Tensor(try #require(reference.tensor(n)), shape: [batch, length, heads * shapes[n]!], requiresGrad: true)
      }
      let tape = Tape()
      let y = tape.gatedLinearAttention(q: inputs[0], k: inputs[1], v: inputs[2], logGate: inputs[3], heads: heads, scale: scale, form: form)
      _ = y.grad.update(fromContentsOf: try #require(reference.tensor("grad_output")))
      tape.backward()
      var checks = [("output", y.array, try #require(reference.tensor("output")))]
      for (n, t) in zip(["q", "k", "v", "g"], inputs) { checks.append(("grad:" + n, t.gradArray, try #require(reference.tensor("grad:" + n)))) }
      for (what, got, expected) in checks {
        let top = expected.map { abs($0) }.max() ?? 0
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * max(top, 1), "\(name) \(form) \(what): max |diff| \(worst), max |value| \(top)")
      }
    }
  }
}
