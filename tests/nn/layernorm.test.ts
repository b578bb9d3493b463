import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { layerNormBackward, layerNormForward } from "../../core/nn/ops/layernorm.ts";
import { randomArray, relL2 } from "../shared.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";
import * as ref from "./ref/layernorm.ts";

const rt = await Runtime.create();
const EPS = 1e-6;

/** Tokens with a per-row offset and scale, as residual streams have (the offset tests the two-pass variance). */
function tokens(rows: number, cols: number, seed: number): Float32Array {
  const x = randomArray(rows * cols, seed);
  return x.map((v, i) => 3 * Math.floor(i / cols) + (1 + (Math.floor(i / cols) % 3)) * v);
}

Deno.test("LayerNorm forward matches float64 on odd shapes, and recomputes bit-identically", async () => {
  for (const [rows, cols] of [[7, 33], [37, 384], [3, 1000]]) {
    const xs = tokens(rows, cols, rows);
    const g = randomArray(cols, 2);
    const b = randomArray(cols, 3);
    const x = rt.upload("act/x", [rows, cols], xs);
    const w = { weight: rt.upload("weights/g", [cols], g), bias: rt.upload("weights/b", [cols], b) };
    const first = layerNormForward(rt, x, w, "act/y");
    const second = layerNormForward(rt, x, w, "act/y2");
    const got = await rt.read(first.y);
    const again = await rt.read(second.y);
    const rel = relL2(got, ref.layerNorm(xs, g, b, cols, EPS));
    console.log(`layernorm ${rows}x${cols}: rel_l2 ${rel.toExponential(2)}`);
    // Rows sit at offsets up to 3·rows with a spread of 1–3: the float32 mean alone is off by ~ε·offset/spread.
    assert.ok(rel < 4e-6, `rel_l2 ${rel}`);
    assert.deepEqual(new Uint8Array(again.buffer), new Uint8Array(got.buffer));
    rt.free(x, w.weight, w.bias, first.y, first.saved.mean, first.saved.rstd, second.y);
    rt.free(second.saved.mean, second.saved.rstd);
  }
});

// 19 columns: the workgroup kernels; 20: on a CPU adapter, the row-an-invocation ones.
for (const cols of [19, 20]) {
  Deno.test(`LayerNorm backward: float64 finite differences, then GPU vs CPU (dx, dγ, dβ, accumulation), ${cols} columns`, async () => {
    const rows = 5;
    const xs = tokens(rows, cols, 4);
    const g = randomArray(cols, 5);
    const b = randomArray(cols, 6);
    const fd = finiteDifferenceError(
      { x: toF64(xs), gamma: toF64(g), beta: toF64(b) },
      (i) => ref.layerNorm(i.x, i.gamma, i.beta, cols, EPS),
      (i, r) => ref.layerNormBackward(i.x, i.gamma, r, cols, EPS),
    );
    assert.ok(fd < 1e-7, `finite differences ${fd}`);

    const dys = randomArray(rows * cols, 7);
    const want = ref.layerNormBackward(xs, g, dys, cols, EPS);
    const x = rt.upload("act/x", [rows, cols], xs);
    const w = { weight: rt.upload("weights/g", [cols], g), bias: rt.upload("weights/b", [cols], b) };
    const { y, saved } = layerNormForward(rt, x, w, "act/y");
    const dy = rt.upload("grads/dy", [rows, cols], dys);
    // Gradients accumulate: start dγ, dβ and the residual gradient at 1.
    const ones = (n: number) => new Float32Array(n).fill(1);
    const grads = {
      weight: rt.upload("grads/g", [cols], ones(cols)),
      bias: rt.upload("grads/b", [cols], ones(cols)),
    };
    const residual = rt.upload("grads/residual", [rows, cols], ones(rows * cols));
    layerNormBackward(rt, x, w, saved, dy, grads, "grads/dx", residual);
    const plusOne = (a: Float64Array) => a.map((v) => v + 1);
    const rels = {
      x: relL2(await rt.read(residual), plusOne(want.x)),
      gamma: relL2(await rt.read(grads.weight), plusOne(want.gamma)),
      beta: relL2(await rt.read(grads.bias), plusOne(want.beta)),
    };
    const dx = layerNormBackward(rt, x, w, saved, dy, undefined, "grads/dx");
    const plain = relL2(await rt.read(dx), want.x);
    console.log(
      `layernorm backward: fd ${fd.toExponential(2)}; GPU vs CPU rel_l2 dx ${plain.toExponential(2)}, ` +
        Object.entries(rels).map(([k, v]) => `${k}(+acc) ${v.toExponential(2)}`).join(", "),
    );
    for (const v of [plain, ...Object.values(rels)]) assert.ok(v < 1e-6, `rel_l2 ${v}`);
    rt.free(x, w.weight, w.bias, y, saved.mean, saved.rstd, dy, grads.weight, grads.bias, residual, dx);
  });
}
