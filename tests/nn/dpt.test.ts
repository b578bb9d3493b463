/**
 * DPT head parity, independent of the encoder: the golden float64 features of tiny-a (metric) and tiny-b
 * (relative), cast to float32, go through the WGSL head; every intermediate the golden file has is compared
 * with its float64 reference.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import type { Tensor } from "../../core/gpu/tensor.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { DptHead } from "../../core/nn/model/dpt.ts";
import { reluBackward, reluForward } from "../../core/nn/ops/relu.ts";
import { sigmoidBackward, sigmoidForward } from "../../core/nn/ops/sigmoid.ts";
import { randomArray, REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const rt = await Runtime.create();

for (const model of ["tiny-a", "tiny-b"]) {
  sharedTest(
    `DPT head ${model}: every intermediate within 1e-5 of float64 from the golden features`,
    async () => {
      const dir = join(REFERENCE_DIR, model);
      const { config, stateDict } = await loadCheckpoint(join(dir, "weights.safetensors"), {
        configFile: join(dir, "config.json"),
      });
      const golden = await readSafetensors(join(dir, "golden.safetensors"));
      const weights = new Map<string, Tensor>();
      for (const [name, t] of stateDict) {
        if (name.startsWith("depth_head.")) weights.set(name, rt.upload(`weights/${name}`, t.shape, t.data));
      }
      const [, , h, w] = golden.shape("input");
      const [ph, pw] = [h / 14, w / 14];
      const features = [0, 1, 2, 3].map((i) => {
        const ref = golden.float64(`feat${i}_f64ref`);
        return rt.upload(`act/feat${i}`, golden.shape(`feat${i}_f64ref`), Float32Array.from(ref));
      });
      const errors: Record<string, number> = {};
      const head = new DptHead(config, (name) => weights.get(name)!);
      const { logits, depth } = await head.forward(rt, features, ph, pw, async (name, t) => {
        const want = golden.float64(`${name}_f64ref`);
        assert.deepEqual([...t.shape].reduce((a, b) => a * b), want.length, name);
        errors[name] = relL2(await rt.read(t), want);
      });
      console.log(
        `${model} DPT head rel_l2 vs _f64ref:`,
        Object.entries(errors).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(", "),
      );
      for (const [name, e] of Object.entries(errors)) assert(e <= 1e-5, `${name}: rel_l2 ${e}`);
      assert.equal(Object.keys(errors).length, 4 * 3 + 4 + 4);
      rt.free(logits, depth, ...features, ...weights.values());
      assert.deepEqual(rt.pool.liveLabels().filter((l) => l.startsWith("act/")), []);
    },
  );
}

Deno.test("head activations: max_depth·σ and ReLU, forward and backward, match float64", async () => {
  const n = 1000;
  const x = randomArray(n, 1).map((v) => v * 12);
  const dy = randomArray(n, 2);
  const xt = rt.upload("act/logits", [n], x);
  const dyt = rt.upload("grads/depth", [n], dy);
  const y = rt.tensor("act/depth", [n]);
  const dx = rt.tensor("grads/logits", [n]);
  const s = (v: number) => 1 / (1 + Math.exp(-v));
  sigmoidForward(rt, xt, y, 20);
  sigmoidBackward(rt, xt, dyt, dx, 20);
  assert(relL2(await rt.read(y), Float64Array.from(x, (v) => 20 * s(v))) < 1e-6);
  const want = Float64Array.from(x, (v, i) => dy[i] * 20 * s(v) * (1 - s(v)));
  assert(relL2(await rt.read(dx), want) < 1e-6);
  // The float64 derivative used above is the finite difference of the forward.
  for (const v of [-9, -1, 0.3, 4]) {
    const fd = (20 * s(v + 1e-6) - 20 * s(v - 1e-6)) / 2e-6;
    assert(Math.abs(fd - 20 * s(v) * (1 - s(v))) < 1e-7);
  }
  reluForward(rt, xt, y);
  reluBackward(rt, xt, dyt, dx);
  assert.deepEqual(await rt.read(y), Float32Array.from(x, (v) => Math.max(v, 0)));
  assert.deepEqual(await rt.read(dx), Float32Array.from(x, (v, i) => (v > 0 ? dy[i] : 0)));
  rt.free(xt, dyt, y, dx);
});
