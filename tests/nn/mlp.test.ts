import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { mlpForward } from "../../core/nn/ops/mlp.ts";
import { generateToTexture } from "../../kernels/matmul_cpu.gen.ts";
import { randomArray, relL2 } from "../shared.ts";
import { gelu } from "./ref/gelu.ts";
import { linear } from "./ref/linear.ts";

const rt = await Runtime.create();
/** The same device taken as a GPU: the three ops (linear, GELU, linear) on the tiled GPU kernels. */
const gpuRt = new Runtime({ ...rt.ctx, isCpu: false });

// Odd widths leave partial blocks and a hidden layer that is not whole texels (fc2 reads its zero
// padding); 70 rows span three 32-row blocks; a batch of 2 rows of tokens; inputs large enough that
// GELU's tails (x·Φ(x) for |x| past a few) are exercised.
const CASES = [
  { shape: [70, 13], hidden: 37, outF: 11 },
  { shape: [2, 9, 24], hidden: 96, outF: 24 },
  { shape: [1, 1], hidden: 5, outF: 3 },
];

for (
  const [runtime, kernels] of [[rt, "CPU adapter: fc1 into fc2's operand texture"], [
    gpuRt,
    "GPU kernels",
  ]] as const
) {
  Deno.test(`mlp fc2(gelu(fc1(x))) matches float64 (${kernels})`, async () => {
    for (const [i, c] of CASES.entries()) {
      const inF = c.shape[c.shape.length - 1];
      const rows = c.shape.reduce((a, b) => a * b) / inF;
      const xs = randomArray(rows * inF, 10 + i).map((v) => 4 * v);
      const w1 = randomArray(c.hidden * inF, 20 + i);
      const b1 = randomArray(c.hidden, 30 + i);
      const w2 = randomArray(c.outF * c.hidden, 40 + i);
      const b2 = randomArray(c.outF, 50 + i);
      const x = runtime.upload("act/x", c.shape, xs);
      const fc1 = {
        weight: runtime.upload("weights/w1", [c.hidden, inF], w1),
        bias: runtime.upload("weights/b1", [c.hidden], b1),
      };
      const fc2 = {
        weight: runtime.upload("weights/w2", [c.outF, c.hidden], w2),
        bias: runtime.upload("weights/b2", [c.outF], b2),
      };
      const y = mlpForward(runtime, x, fc1, fc2, "act/mlp");
      assert.deepEqual(y.shape, [...c.shape.slice(0, -1), c.outF]);
      const want = linear(gelu(linear(xs, w1, b1, inF, c.hidden)), w2, b2, c.hidden, c.outF);
      const rel = relL2(await runtime.read(y), want);
      assert.ok(rel < 1e-6, `${c.shape} → ${c.hidden} → ${c.outF}: rel_l2 ${rel}`);
      runtime.free(x, fc1.weight, fc1.bias, fc2.weight, fc2.bias, y);
    }
  });
}

Deno.test("mlp refuses mismatched layers with a clear error", () => {
  const x = rt.upload("act/x", [3, 4], new Float32Array(12));
  const fc1 = { weight: rt.upload("weights/w1", [6, 4], new Float32Array(24)) };
  const fc2 = { weight: rt.upload("weights/w2", [2, 5], new Float32Array(10)) };
  assert.throws(() => mlpForward(rt, x, fc1, fc2, "act/mlp"), /mlp: x act\/x \[3,4\].*\[2,5\]/);
  rt.free(x, fc1.weight, fc2.weight);
});

Deno.test("the committed kernels/matmul_cpu_texture.wgsl is what kernels/matmul_cpu.gen.ts generates", () => {
  const committed = Deno.readTextFileSync(new URL("../../kernels/matmul_cpu_texture.wgsl", import.meta.url));
  const activation = Deno.readTextFileSync(new URL("../../kernels/activation.wgsl", import.meta.url));
  assert.equal(committed, generateToTexture(activation));
});
