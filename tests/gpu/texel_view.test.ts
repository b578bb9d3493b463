import assert from "node:assert/strict";
import { axpy, mul } from "../../core/gpu/elementwise.ts";
import { sumRows } from "../../core/gpu/reduce.ts";
import { Runtime } from "../../core/gpu/runtime.ts";
import { texelShift, texelViewsApply } from "../../core/gpu/texel_view.ts";

const rt = await Runtime.create();

Deno.test("texel views take the narrowest power-of-two row that keeps the texture within the side limit", () => {
  // Rows are made non-powers of two (one more row where the count is one): 8191 rows fit a side of 8192.
  const side = (maxTextureDimension2D: number) => ({ ctx: { limits: { maxTextureDimension2D } } }) as Runtime;
  assert.equal(texelShift(side(8192), 4 * 64 * 8191), 6);
  assert.equal(texelShift(side(8192), 4 * 64 * 8191 + 4), 7);
  assert.equal(texelShift(side(16384), 4), 6);
  assert.throws(() => texelShift(side(64), 4 * 64 * 64 * 64), /do not fit/);
});

// Past 64 texels × the side limit, so a row is 128 texels or more, with a partial last row: the texel of
// every element must be found by the shift the views were made with.
Deno.test("elementwise ops and column sums through texel views of wide rows match exactly", async (t) => {
  const side = rt.ctx.limits.maxTextureDimension2D;
  const n = 4 * 64 * side + 4 * 37;
  if (!texelViewsApply(rt, n)) {
    t.step({ name: "a GPU adapter reads storage buffers: no texel views", ignore: true, fn: () => {} });
    return;
  }
  assert.ok(texelShift(rt, n) > 6);
  // Values exact in float32 and different per element, so a misplaced texel cannot go unseen.
  const values = Float32Array.from({ length: n }, (_, i) => i % 65536);
  const a = rt.upload("act/a", [n], values);
  const twos = rt.upload("act/twos", [n], new Float32Array(n).fill(2));
  const out = rt.tensor("act/out", [n]);
  mul(rt, a, twos, out);
  axpy(rt, a, out, 0.5);
  const got = await rt.read(out);
  const wrong = got.findIndex((v, i) => v !== 2.5 * (i % 65536));
  assert.equal(wrong, -1, `element ${wrong}: ${got[wrong]}`);
  // Column sums over n / 1024 rows of 1024 columns, element i holding i mod 61: every partial sum is an
  // integer below 2^24, exact in float32, and each column's differs.
  const cols = 1024;
  const rows = Math.floor(n / cols);
  const small = rt.upload("act/small", [n], Float32Array.from({ length: n }, (_, i) => i % 61));
  const sums = rt.tensor("act/sums", [cols]);
  sumRows(rt, small, rows, cols, sums);
  const gotSums = await rt.read(sums);
  for (let c = 0; c < cols; c++) {
    let want = 0;
    for (let r = 0; r < rows; r++) want += (r * cols + c) % 61;
    assert.equal(gotSums[c], want, `column ${c}`);
  }
  rt.free(a, twos, out, small, sums);
});
