import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { readSilog, silogBackward, silogForward } from "../../core/train/silog.ts";
import { silogLoss } from "./silog_ref.ts";
import { randomArray, REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const rt = await Runtime.create();

async function gpuSilog(pred: Float32Array, target: Float32Array, valid?: Uint8Array, maxDepth = 20) {
  const inputs = {
    pred: rt.upload("act/pred", [pred.length], pred),
    target: rt.upload("act/target", [target.length], target),
    valid: valid && rt.upload("act/valid", [valid.length], Uint32Array.from(valid)),
  };
  const options = { maxDepth };
  const forward = silogForward(rt, inputs, options);
  const dpred = silogBackward(rt, inputs, forward, options);
  const value = await readSilog(rt, forward);
  const grad = await rt.read(dpred);
  rt.free(inputs.pred, inputs.target, forward.scratch, dpred, ...(inputs.valid ? [inputs.valid] : []));
  return { ...value, grad };
}

sharedTest("GPU SiLog equals the float64 loss and gradient on tiny-a's training batch", async () => {
  const ref = await readSafetensors(join(REFERENCE_DIR, "tiny-a", "train_step.safetensors"));
  const pred = ref.float32("pred");
  const depth = ref.float32("depth");
  const valid = ref.raw("valid_mask") as Uint8Array;
  const got = await gpuSilog(pred, depth, valid);
  const cpu = silogLoss(pred, depth, valid);
  const relCpu = Math.abs(got.loss - cpu.loss) / cpu.loss;
  const torch = ref.float64("loss")[0];
  const relTorch = Math.abs(got.loss - torch) / torch;
  const relGrad = relL2(got.grad, cpu.grad);
  console.log(
    `loss vs float64 ${relCpu.toExponential(2)}, vs torch float32 ${relTorch.toExponential(2)}; ` +
      `gradient rel_l2 ${relGrad.toExponential(2)} (${got.count} pixels)`,
  );
  assert.equal(got.count, cpu.count);
  assert.ok(relCpu <= 1e-6);
  assert.ok(relTorch <= 1e-6);
  assert.ok(relGrad <= 1e-5);
});

Deno.test("GPU SiLog masks invalid, out-of-range and NaN targets, at 518² scale", async () => {
  const n = 518 * 518;
  const pred = randomArray(n, 1).map((v) => 3 + 2.5 * v);
  const target = randomArray(n, 2).map((v) => 4 + 4.5 * v);
  const valid = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i += 97) valid[i] = 0;
  for (let i = 5; i < n; i += 89) target[i] = NaN;
  for (let i = 7; i < n; i += 83) target[i] = 0;
  const got = await gpuSilog(pred, target, valid, 8);
  const cpu = silogLoss(pred, target, valid, { maxDepth: 8 });
  assert.equal(got.count, cpu.count);
  const rel = Math.abs(got.loss - cpu.loss) / cpu.loss;
  const relGrad = relL2(got.grad, cpu.grad);
  console.log(`518²: loss ${rel.toExponential(2)}, gradient ${relGrad.toExponential(2)}`);
  assert.ok(rel <= 1e-6 && relGrad <= 1e-5);
  for (let i = 0; i < n; i++) if (cpu.grad[i] === 0) assert.equal(got.grad[i], 0);
});

Deno.test("GPU SiLog without usable pixels is NaN with a zero gradient; runs are bit-identical", async () => {
  const none = await gpuSilog(new Float32Array([1, 2]), new Float32Array([0, 30]));
  assert.ok(Number.isNaN(none.loss));
  assert.deepEqual([...none.grad], [0, 0]);
  const pred = randomArray(5000, 3).map((v) => 2 + v);
  const target = randomArray(5000, 4).map((v) => 2 + v);
  const a = await gpuSilog(pred, target);
  const b = await gpuSilog(pred, target);
  assert.equal(a.loss, b.loss);
  assert.deepEqual(a.grad, b.grad);
});
