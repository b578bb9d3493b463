import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { silogLoss } from "./silog_ref.ts";
import { randomArray, REFERENCE_DIR, sharedTest } from "../shared.ts";

sharedTest("SiLog loss equals silog_loss of metrics.safetensors", async () => {
  const ref = await readSafetensors(join(REFERENCE_DIR, "metrics.safetensors"));
  const range = { minDepth: Number(ref.metadata.min_depth), maxDepth: Number(ref.metadata.max_depth) };
  const { loss, count } = silogLoss(ref.float64("pred_resized"), ref.float64("target"), undefined, range);
  const mask = ref.raw("mask") as Uint8Array;
  assert.equal(count, mask.reduce((a, b) => a + b, 0));
  const want = ref.float64("silog_loss")[0];
  const rel = Math.abs(loss - want) / want;
  console.log(`metrics.safetensors silog_loss: relative error ${rel.toExponential(2)}`);
  assert.ok(rel <= 1e-12, `${loss} vs ${want}`);
});

sharedTest("SiLog loss equals loss_f64ref of the tiny-a training step", async () => {
  const ref = await readSafetensors(join(REFERENCE_DIR, "tiny-a", "train_step.safetensors"));
  const depth = ref.float64("depth");
  const valid = ref.raw("valid_mask") as Uint8Array;
  const f64 = silogLoss(ref.float64("pred_f64ref"), depth, valid).loss;
  const want64 = ref.float64("loss_f64ref")[0];
  const f32 = silogLoss(ref.float64("pred"), depth, valid).loss;
  const want32 = ref.float64("loss")[0];
  const rel64 = Math.abs(f64 - want64) / want64;
  const rel32 = Math.abs(f32 - want32) / want32;
  console.log(
    `train_step: vs loss_f64ref ${rel64.toExponential(2)}, float32 pred vs loss ${rel32.toExponential(2)}`,
  );
  assert.ok(rel64 <= 1e-12, `${f64} vs ${want64}`);
  assert.ok(rel32 <= 1e-6, `${f32} vs ${want32}`);
});

Deno.test("SiLog gradient matches central finite differences", () => {
  const n = 50;
  const pred = Float64Array.from(randomArray(n, 5), (v) => 2 + 1.5 * v);
  const target = Float64Array.from(randomArray(n, 6), (v) => 3 + 2.9 * v);
  target[3] = 0; // below min_depth: masked out
  target[7] = 25; // above max_depth: masked out
  const valid = new Uint8Array(n).fill(1);
  valid[11] = 0;
  const { grad, count } = silogLoss(pred, target, valid);
  assert.equal(count, n - 3);
  for (const i of [3, 7, 11]) assert.equal(grad[i], 0);
  const eps = 1e-6;
  for (let i = 0; i < n; i++) {
    const p = pred.slice();
    const m = pred.slice();
    p[i] += eps;
    m[i] -= eps;
    const fd = (silogLoss(p, target, valid).loss - silogLoss(m, target, valid).loss) / (2 * eps);
    assert.ok(Math.abs(fd - grad[i]) <= 1e-8, `pixel ${i}: ${fd} vs ${grad[i]}`);
  }
});

Deno.test("SiLog with no masked pixel reports count 0 instead of a gradient", () => {
  const r = silogLoss([1, 2], [0, 30]);
  assert.equal(r.count, 0);
  assert.ok(Number.isNaN(r.loss));
  assert.deepEqual(Array.from(r.grad), [0, 0]);
});
