import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { geluBackward, geluForward } from "../../core/nn/ops/gelu.ts";
import { randomArray, relL2 } from "../shared.ts";
import { erfc } from "./ref/erf.ts";
import * as ref from "./ref/gelu.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";

const rt = await Runtime.create();

/** Distance in float32 units in the last place of `want` (normal range: subnormal results count as 0). */
function ulps(got: number, want: number): number {
  const scale = Math.max(Math.abs(want), 1.1754943508222875e-38);
  const ulp = 2 ** (Math.floor(Math.log2(scale)) - 23);
  return Math.abs(got - want) / ulp;
}

Deno.test("float64 erfc reference: known values and the series/fraction seam", () => {
  assert.ok(Math.abs(erfc(0.5) - 0.4795001221869535) < 1e-15);
  assert.ok(Math.abs(erfc(1) - 0.15729920705028513) < 1e-15);
  assert.ok(Math.abs(erfc(3) / 2.209049699858544e-5 - 1) < 1e-13);
  assert.ok(Math.abs(erfc(-1.5) - 1.9661051464753108) < 1e-15);
  assert.ok(Math.abs(erfc(2 - 1e-12) / erfc(2 + 1e-12) - 1) < 1e-10);
});

// 48001 values: the scalar entry point; 48000: the vec4 one (every length a multiple of 4).
for (const n of [48001, 48000]) {
  Deno.test(`GELU forward is float32-accurate against float64 over [-12, 12] (${n} values)`, async () => {
    const xs = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const x = rt.upload("act/x", [n], xs);
    const y = geluForward(rt, x, "act/y");
    const got = await rt.read(y);
    const want = ref.gelu(xs);
    // For x < −0.7, Φ(x) comes from erfc, whose fit is evaluated in t = 1/(1 + z/2): t's two roundings cost a
    // few ulps there (PyTorch's own 1 + erf cancels and costs tens). x ≥ 0 carries most of a layer's norm.
    let positive = 0;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      const u = ulps(got[i], want[i]);
      worst = Math.max(worst, u);
      if (xs[i] >= 0) positive = Math.max(positive, u);
    }
    console.log(`gelu: max ${positive.toFixed(2)} ulp on [0, 12], ${worst.toFixed(2)} ulp on [-12, 12]`);
    assert.ok(positive <= 2, `${positive} ulp on [0, 12]`);
    assert.ok(worst <= 12, `${worst} ulp on [-12, 12]`);
    rt.free(x, y);
  });
}

// 257 values: the scalar entry point; 256: the vec4 one.
// 257 values: the scalar kernel; 256: vec4s; 4096: on a CPU adapter, texel views.
for (const n of [257, 256, 4096]) {
  Deno.test(`GELU backward: float64 finite differences, then GPU vs CPU (${n} values)`, async () => {
    const xs = randomArray(n, 7).map((v) => 4 * v);
    const fd = finiteDifferenceError(
      { x: toF64(xs) },
      (i) => ref.gelu(i.x),
      (i, r) => ({ x: ref.geluBackward(i.x, r) }),
    );
    assert.ok(fd < 1e-8, `finite differences ${fd}`);
    const dys = randomArray(n, 8);
    const x = rt.upload("act/x", [n], xs);
    const dy = rt.upload("grads/dy", [n], dys);
    const dx = geluBackward(rt, x, dy, "grads/dx");
    const rel = relL2(await rt.read(dx), ref.geluBackward(xs, dys));
    console.log(`gelu backward: fd ${fd.toExponential(2)}, GPU vs CPU rel_l2 ${rel.toExponential(2)}`);
    assert.ok(rel < 1e-6, `rel_l2 ${rel}`);
    rt.free(x, dy, dx);
  });
}
