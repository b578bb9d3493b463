import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { add, axpy, fill, mul, mulAdd } from "../../core/gpu/elementwise.ts";
import { sumCols, sumRows } from "../../core/gpu/reduce.ts";
import { randomArray, relL2 } from "../shared.ts";

const rt = await Runtime.create();

// 53 columns: the scalar entry points; 52: every length a multiple of 4, the vec4 ones (on a CPU adapter,
// from 4096 values, the *_texels ones, reading texel views).
for (const cols of [53, 52]) {
  Deno.test(`add with broadcast, alpha and beta matches the CPU (rows of ${cols})`, async () => {
    const rows = 101;
    const x = randomArray(rows * cols, 1);
    const bias = randomArray(cols, 2);
    const a = rt.upload("act/x", [rows, cols], x);
    const b = rt.upload("weights/b", [cols], bias);
    const out = rt.tensor("act/out", [rows, cols]);
    add(rt, a, b, out, { alpha: 0.5, beta: -2, period: cols });
    const got = await rt.read(out);
    const want = Float64Array.from(x, (v, i) => 0.5 * v - 2 * bias[i % cols]);
    assert(relL2(got, want) < 1e-7, `rel_l2 ${relL2(got, want)}`);
    rt.free(a, b, out);
  });
}

// n 1010 and period 10: scalar; n 1000 and period 20: vec4; n 8000 and period 20: texel views on a CPU.
for (const [n, period] of [[1010, 10], [1000, 20], [8000, 20]]) {
  Deno.test(`axpy accumulates, mul broadcasts, fill sets (${n} values, period ${period})`, async () => {
    const x = randomArray(n, 3);
    const y = randomArray(n, 4);
    const g = randomArray(period, 5);
    const a = rt.upload("act/a", [n], x);
    const out = rt.upload("grads/out", [n], y);
    axpy(rt, a, out, 3);
    const acc = await rt.read(out);
    assert(relL2(acc, Float64Array.from(y, (v, i) => v + 3 * x[i])) < 1e-7);
    const gamma = rt.upload("weights/gamma", [period], g);
    mul(rt, a, gamma, out, period);
    const scaled = await rt.read(out);
    assert(relL2(scaled, Float64Array.from(x, (v, i) => v * g[i % period])) < 1e-7);
    fill(rt, out, 0.25);
    assert.deepEqual([...new Set(await rt.read(out))], [0.25]);
    rt.free(a, out, gamma);
  });
}

// Period 20: on a CPU adapter one pass over texel views; 10: a mul then an axpy. Either way the same bits.
for (const period of [20, 10]) {
  Deno.test(`mulAdd is a mul then an axpy to the bit, not a fused multiply-add (period ${period})`, async () => {
    const n = 8000;
    const [as, bs, cs] = [randomArray(n, 1), randomArray(period, 2), randomArray(n, 3)];
    const a = rt.upload("act/a", [n], as);
    const b = rt.upload("weights/b", [period], bs);
    const c = rt.upload("act/c", [n], cs);
    const fused = rt.tensor("act/fused", [n]);
    mulAdd(rt, a, b, c, fused, period);
    const got = await rt.read(fused);
    const want = Float32Array.from(as, (v, i) => Math.fround(Math.fround(v * bs[i % period]) + cs[i]));
    assert.deepEqual(got, want);
    rt.free(a, b, c, fused);
  });
}

Deno.test("elementwise covers tensors past 65535 workgroups in one dimension, every element once", async () => {
  const n = 65535 * 256 + 300; // a two-dimensional grid: 65535 workgroups in x, 2 rows in y
  const out = rt.tensor("tmp/big", [n]);
  fill(rt, out, 7);
  const filled = await rt.read(out);
  const missed = filled.findIndex((v) => v !== 7);
  assert.equal(missed, -1, `element ${missed} of ${n} not filled`);
  // An element-dependent op: a wrong index in the second grid row would move or repeat values, not only
  // leave some unset. a[i] = i mod 2^22 plus b = 0.5 (exact in float32), b repeating every 60 elements.
  const a = rt.upload("act/a", [n], Float32Array.from({ length: n }, (_, i) => i % 4194304));
  const b = rt.upload("act/b", [60], new Float32Array(60).fill(0.5));
  add(rt, a, b, out, { period: 60 });
  const sums = await rt.read(out);
  const wrong = sums.findIndex((v, i) => v !== (i % 4194304) + 0.5);
  assert.equal(wrong, -1, `element ${wrong}: ${sums[wrong]}`);
  rt.free(out, a, b);
});

Deno.test("row and column sums match float64 sums, with accumulate", async () => {
  for (const [rows, cols] of [[1, 1], [37, 53], [1370, 64], [3, 1024]]) {
    const x = randomArray(rows * cols, rows + cols);
    const t = rt.upload("act/x", [rows, cols], x);
    const colSums = rt.tensor("grads/cols", [cols]);
    const rowSums = rt.upload("act/rows", [rows], new Float32Array(rows).fill(1));
    sumRows(rt, t, rows, cols, colSums);
    sumCols(rt, t, rows, cols, rowSums, { accumulate: true, alpha: 2 });
    const wantCols = new Float64Array(cols);
    const wantRows = new Float64Array(rows).fill(1);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        wantCols[c] += x[r * cols + c];
        wantRows[r] += 2 * x[r * cols + c];
      }
    }
    const gotCols = await rt.read(colSums);
    const gotRows = await rt.read(rowSums);
    assert(relL2(gotCols, wantCols) < 1e-6, `${rows}×${cols} column sums ${relL2(gotCols, wantCols)}`);
    assert(relL2(gotRows, wantRows) < 1e-6, `${rows}×${cols} row sums ${relL2(gotRows, wantRows)}`);
    rt.free(t, colSums, rowSums);
  }
});
