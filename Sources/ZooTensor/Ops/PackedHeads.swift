/// The query, key and value columns of head `h` of batch item `b` in packed rows
/// `[batch, length, 3·d]` (`q | k | v`, each `d` wide, heads of `headDim` inside): pointers to
/// their first row, with row stride `3·d`. The attention ops read `qkv` and write `dqkv` so.
@inline(__always)
func packedHead<Pointer: Strideable>(
  _ qkv: Pointer, b: Int, h: Int, length: Int, d: Int, headDim: Int
) -> (q: Pointer, k: Pointer, v: Pointer) where Pointer.Stride == Int {
  let q = qkv.advanced(by: b * length * 3 * d + h * headDim)
  return (q, q.advanced(by: d), q.advanced(by: 2 * d))
}
