import Foundation
import Testing
import ZooSupport
import ZooTensor

@testable import ZooModel

@Suite struct DeltaRuleParityTests {
  /// Zoo's delta rule gives the output and the gradients of q, k, v, β (and the log decay) of
  /// flash-linear-attention's own recurrences (`fla/ops/delta_rule/naive.py`,
  /// `fla/ops/gated_delta_rule/naive.py`, run in float64 by `Fixtures/make_delta_rule_reference.py`), in
  /// both forms: token by token, and in chunks of 64 and of 16 over 72 tokens.
  @Test(arguments: ["delta_rule", "gated_delta_rule"])
  func deltaRuleMatchesFlasRecurrence(name: String) throws {
    let reference = try ZoologyReference(name, folder: "fla")
    let (batch, length, heads) = (reference.meta.batch, reference.meta.length, reference.int("heads"))
    let (keyDim, valueDim) = (reference.int("key_dim"), reference.int("value_dim"))
    let gated = name == "gated_delta_rule"
    let names = ["q", "k", "v", "beta"] + (gated ? ["log_decay"] : [])
    let widths = [heads * keyDim, heads * keyDim, heads * valueDim, heads, heads]
    for form in [DeltaRule.Form.recurrent, .chunked(size: 64), .chunked(size: 16)] {
      let inputs = try zip(names, widths).map { name, width in
        Tensor(try #require(reference.tensor(name)), shape: [batch, length, width], requiresGrad: true)
      }
      let tape = Tape()
      let y = tape.deltaRule(q: inputs[0], k: inputs[1], v: inputs[2], beta: inputs[3], logDecay: gated ? inputs[4] : nil, heads: heads, form: form)
      _ = y.grad.update(fromContentsOf: try #require(reference.tensor("grad_output")))
      tape.backward()
      var checks = [("output", y.array, try #require(reference.tensor("output")))]
      for (name, input) in zip(names, inputs) { checks.append(("grad:" + name, input.gradArray, try #require(reference.tensor("grad:" + name)))) }
      for (what, got, expected) in checks {
        let scale = expected.map { abs($0) }.max() ?? 0
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * max(scale, 1), "\(name) \(form) \(what): max |diff| \(worst), max |value| \(scale)")
      }
    }
  }
}
