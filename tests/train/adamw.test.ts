import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { AdamW, OFFICIAL_ADAMW } from "../../core/train/adamw.ts";
import { adamwStepF64 } from "./adamw_ref.ts";
import { groupLr, paramGroup } from "../../core/train/param_groups.ts";
import { polyLr } from "../../core/train/schedule.ts";
import { randomArray, REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const rt = await Runtime.create();
const TINY_A = join(REFERENCE_DIR, "tiny-a");

/**
 * Distance between a float32 result and a float64 reference in float32 units in the last place of `scale`:
 * the larger of the result and the value before the step, since p − lr·… cancels where p ≈ lr.
 */
function ulps(got: number, want: number, scale: number): number {
  const exponent = Math.floor(Math.log2(Math.max(Math.abs(want), Math.abs(scale), 2 ** -126)));
  return Math.abs(got - want) / 2 ** (exponent - 23);
}

/** Runs one GPU AdamW step per parameter that has a gradient; returns the updated weights. */
async function gpuStep(
  weights: Map<string, Float32Array>,
  grads: Map<string, Float32Array>,
  lr: number,
): Promise<{ after: Map<string, Float32Array>; stateLabels: string[] }> {
  const adam = new AdamW(rt);
  const tensors = new Map<string, ReturnType<typeof rt.upload>>();
  for (const [key, w] of weights) tensors.set(key, rt.upload(`weights/${key}`, [w.length], w));
  for (const [key, g] of grads) {
    const grad = rt.upload(`grads/${key}`, [g.length], g);
    adam.update(key, tensors.get(key)!, grad, groupLr(key, lr));
    // The trainer frees each gradient once its update is recorded.
    rt.flush();
    rt.free(grad);
  }
  const after = new Map<string, Float32Array>();
  for (const [key, t] of tensors) after.set(key, await rt.read(t));
  const stateLabels = rt.pool.liveLabels().filter((l) => l.startsWith("adam/"));
  adam.free();
  for (const t of tensors.values()) rt.free(t);
  return { after, stateLabels };
}

sharedTest("GPU AdamW reproduces tiny-a's official step, within a few ulp of float64 AdamW", async () => {
  const step = await readSafetensors(join(TINY_A, "train_step.safetensors"));
  const before = await readSafetensors(join(TINY_A, "weights.safetensors"));
  const afterTorch = await readSafetensors(join(TINY_A, "after_step.safetensors"));
  const afterF64 = await readSafetensors(join(TINY_A, "after_step_f64ref.safetensors"));
  const md = step.metadata;
  assert.equal(md.betas, `${OFFICIAL_ADAMW.beta1},${OFFICIAL_ADAMW.beta2}`);
  assert.equal(Number(md.weight_decay), OFFICIAL_ADAMW.weightDecay);
  const lr = Number(md.lr_encoder);
  assert.equal(groupLr("depth_head.x", lr), Number(md.lr_decoder));

  const weights = new Map(before.names().map((k) => [k, before.float32(k)]));
  const withGrad = (prefix: string) =>
    new Map(
      before.names().filter((k) => step.has(`${prefix}/${k}`)).map((
        k,
      ) => [k, step.float32(`${prefix}/${k}`)]),
    );
  const grads = withGrad("grad");
  const noGrad = before.names().filter((k) => !grads.has(k));
  assert.deepEqual(noGrad.filter((k) => !k.includes("refinenet4.resConfUnit1.")), ["pretrained.mask_token"]);

  const { after, stateLabels } = await gpuStep(weights, grads, lr);
  // Parameters without a gradient: unchanged, and no optimizer state at all.
  for (const key of noGrad) {
    assert.deepEqual(after.get(key), weights.get(key), key);
    assert.ok(!stateLabels.some((l) => l.startsWith(`adam/${key}.`)), `${key} got AdamW state`);
  }
  assert.equal(stateLabels.length, 2 * grads.size);

  let worstUlp = 0, worstTorchUlp = 0, worstTorch = 0;
  for (const [key, g] of grads) {
    const w = weights.get(key)!;
    const p = Float64Array.from(w);
    adamwStepF64(p, g, new Float64Array(p.length), new Float64Array(p.length), 1, groupLr(key, lr));
    const got = after.get(key)!;
    const torch = afterTorch.float32(key);
    for (let i = 0; i < p.length; i++) {
      worstUlp = Math.max(worstUlp, ulps(got[i], p[i], w[i]));
      worstTorchUlp = Math.max(worstTorchUlp, ulps(got[i], torch[i], w[i]));
    }
    worstTorch = Math.max(worstTorch, relL2(got, torch));
    assert.ok(relL2(got, afterF64.float64(key)) < 1e-4, key);
  }
  console.log(
    `AdamW on ${grads.size} tensors: ≤ ${worstUlp.toFixed(2)} ulp from float64 AdamW, ` +
      `≤ ${worstTorchUlp.toFixed(0)} ulp / rel_l2 ${worstTorch.toExponential(2)} from torch's float32 step`,
  );
  // WGSL's sqrt and division may each be 2.5 ulp off; where the update is as large as the weight that shows
  // in the weight's last bits (PyTorch's float32 step lands as far from float64).
  assert.ok(worstUlp <= 8, `${worstUlp} ulp from the float64 step`);
  assert.ok(worstTorchUlp <= 4, `${worstTorchUlp} ulp from torch's float32 step`);
  assert.ok(worstTorch < 1e-6, `rel_l2 ${worstTorch} from after_step`);

  // With the float64 gradients, against the float64 run's weights (PyTorch float32 itself: 1.2e-5).
  const { after: after64 } = await gpuStep(weights, withGrad("grad_f64ref"), lr);
  let worst64 = 0;
  for (const key of grads.keys()) {
    worst64 = Math.max(worst64, relL2(after64.get(key)!, afterF64.float64(key)));
  }
  console.log(`with grad_f64ref: worst rel_l2 to after_step_f64ref ${worst64.toExponential(2)}`);
  assert.ok(worst64 < 1e-6);
});

Deno.test("GPU AdamW tracks float64 AdamW over many steps with changing rates", async () => {
  const n = 3000;
  const init = randomArray(n, 11);
  const param = rt.upload("weights/p", [n], init);
  const adam = new AdamW(rt);
  const p = Float64Array.from(init);
  const m = new Float64Array(n), v = new Float64Array(n);
  const total = 20;
  for (let step = 0; step < total; step++) {
    const g = randomArray(n, 100 + step).map((x, i) => x * (i % 7 === 0 ? 1e-6 : 1));
    const grad = rt.upload("grads/p", [n], g);
    const lr = polyLr(1e-2, step, total);
    adam.update("p", param, grad, lr);
    rt.flush();
    rt.free(grad);
    adamwStepF64(p, g, m, v, step + 1, lr);
  }
  const got = await rt.read(param);
  const rel = relL2(got.map((x, i) => x - init[i]), p.map((x, i) => x - init[i]));
  console.log(`20 steps: update rel_l2 vs float64 ${rel.toExponential(2)}`);
  assert.ok(rel < 1e-4);
  assert.equal(adam.slots.get("p")!.step, total);
  adam.free();
  rt.free(param);
});

Deno.test("official groups and poly schedule", () => {
  assert.equal(paramGroup("pretrained.blocks.0.attn.qkv.weight"), "encoder");
  assert.equal(paramGroup("depth_head.scratch.output_conv1.weight"), "decoder");
  assert.equal(groupLr("depth_head.projects.0.bias", 5e-6), 5e-5);
  // train.py sets the next step's rate after stepping: steps 0 and 1 at the base rate.
  assert.equal(polyLr(5e-6, 0, 100), 5e-6);
  assert.equal(polyLr(5e-6, 1, 100), 5e-6);
  assert.equal(polyLr(5e-6, 11, 100), 5e-6 * 0.9 ** 0.9);
});
