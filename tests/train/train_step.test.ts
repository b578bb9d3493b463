/**
 * One official training step of tiny-a (../shared/reference/README.md §3) through trompe's training graph:
 * depth, loss, every parameter's gradient and the weights after AdamW, against PyTorch's float64 run.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import type { Tensor } from "../../core/gpu/tensor.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/io/safetensors.ts";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import { release } from "../../core/nn/ops/release.ts";
import { freeWeights, uploadWeights } from "../../core/nn/model/weights.ts";
import { AdamW } from "../../core/train/adamw.ts";
import type { CheckpointPolicy } from "../../core/train/checkpointing.ts";
import type { GradientSink } from "../../core/train/gradient_sink.ts";
import { TrainGraph } from "../../core/train/model_backward.ts";
import { groupLr } from "../../core/train/param_groups.ts";
import { readSilog, silogBackward, silogForward } from "../../core/train/silog.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const TINY_A = join(REFERENCE_DIR, "tiny-a");
const cpuRt = await Runtime.create();
/**
 * The same device taken as a GPU: every op picks the kernels a GPU adapter runs (the 128-tile matmul, the
 * GPU attention and conv kernels), so their numerics are checked here even without a GPU.
 */
const gpuRt = new Runtime({ ...cpuRt.ctx, isCpu: false });

interface StepResult {
  depth: Float32Array;
  loss: number;
  grads: Map<string, Float32Array>;
  after: Map<string, Float32Array>;
  peak: number;
}

/** Collects gradients (for comparison) and applies AdamW to each once complete, as the trainer does. */
async function trainStep(
  ref: SafetensorsFile,
  checkpoint: CheckpointPolicy,
  rt: Runtime = cpuRt,
): Promise<StepResult> {
  const { config, stateDict } = await loadCheckpoint(join(TINY_A, "weights.safetensors"), {
    configFile: join(TINY_A, "config.json"),
  });
  const weights = uploadWeights(rt, stateDict);
  const graph = new TrainGraph(config, weights, { checkpoint, trainable: () => true });
  const adam = new AdamW(rt);
  const lr = Number(ref.metadata.lr_encoder);
  const live = new Map<string, Tensor>();
  const grads = new Map<string, Promise<Float32Array>>();
  const sink: GradientSink = {
    grad(key) {
      let g = live.get(key);
      if (!g) live.set(key, g = rt.tensor(`grads/${key}`, weights.get(key).shape));
      return g;
    },
    complete(key) {
      const g = live.get(key);
      if (!g) return;
      grads.set(key, rt.read(g));
      adam.update(key, weights.get(key), g, groupLr(key, lr));
      live.delete(key);
      release(rt, g);
    },
  };
  rt.pool.resetPeak();
  const image = rt.upload("act/image", ref.shape("image"), ref.float32("image"));
  const target = rt.upload("act/target", ref.shape("depth"), ref.float32("depth"));
  const valid = rt.upload(
    "act/valid",
    ref.shape("valid_mask"),
    Uint32Array.from(ref.raw("valid_mask") as Uint8Array),
  );
  const state = graph.forward(rt, image);
  const inputs = { pred: state.depth, target, valid };
  const loss = silogForward(rt, inputs);
  const dDepth = silogBackward(rt, inputs, loss);
  const depth = await rt.read(state.depth);
  const value = await readSilog(rt, loss);
  graph.backward(rt, state, dDepth, sink);
  release(rt, dDepth, state.depth, image, target, valid, loss.scratch);
  assert.equal(live.size, 0, `gradients never completed: ${[...live.keys()]}`);
  const gradValues = new Map<string, Float32Array>();
  for (const [k, p] of grads) gradValues.set(k, await p);
  const after = new Map<string, Float32Array>();
  for (const [k, t] of weights.tensors) after.set(k, await rt.read(t));
  const peak = rt.pool.stats().peakBytes;
  adam.free();
  freeWeights(rt, weights);
  const leaks = rt.pool.liveLabels().filter((l) => !l.startsWith("tmp/unused"));
  assert.deepEqual(leaks, [], "buffers left after the step");
  return { depth, loss: value.loss, grads: gradValues, after, peak };
}

for (const [kernels, rt] of [["CPU-adapter", cpuRt], ["GPU", gpuRt]] as const) {
  sharedTest(
    `one training step of tiny-a on the ${kernels} kernels equals PyTorch's float64 step (every gradient within 1e-4)`,
    async () => {
      const ref = await readSafetensors(join(TINY_A, "train_step.safetensors"));
      const afterRef = await readSafetensors(join(TINY_A, "after_step_f64ref.safetensors"));
      const got = await trainStep(ref, "none", rt);

      const depthRel = relL2(got.depth, ref.float64("pred_f64ref"));
      const lossRef = ref.float64("loss_f64ref")[0];
      const lossRel = Math.abs(got.loss - lossRef) / lossRef;
      console.log(
        `depth rel_l2 ${depthRel.toExponential(2)}, loss relative error ${lossRel.toExponential(2)}`,
      );

      const expected = ref.names().filter((n) => n.startsWith("grad_f64ref/")).map((n) => n.slice(12));
      assert.deepEqual([...got.grads.keys()].sort(), expected.sort(), "parameters with a gradient");
      const rows: string[] = [];
      let worst = 0;
      for (const key of expected) {
        const rel = relL2(got.grads.get(key)!, ref.float64(`grad_f64ref/${key}`));
        worst = Math.max(worst, rel);
        rows.push(`${rel.toExponential(2)}  ${key}`);
      }
      console.log(`gradient rel_l2 per parameter (worst ${worst.toExponential(2)}):\n${rows.join("\n")}`);
      let worstAfter = 0;
      for (const key of afterRef.names()) {
        const want = afterRef.float64(key);
        // mask_token is all zeros and gets no gradient: it must stay exactly so.
        if (want.every((v) => v === 0)) assert.ok(got.after.get(key)!.every((v) => v === 0), key);
        else worstAfter = Math.max(worstAfter, relL2(got.after.get(key)!, want));
      }
      console.log(`weights after the AdamW step: worst rel_l2 ${worstAfter.toExponential(2)}`);
      assert.ok(depthRel <= 1e-5, `depth ${depthRel}`);
      assert.ok(lossRel <= 1e-6, `loss ${lossRel}`);
      assert.ok(worst <= 1e-4, `worst gradient ${worst}`);
      assert.ok(worstAfter <= 1e-4, `weights after ${worstAfter}`);
    },
  );
}

sharedTest("checkpointing recomputes bit-identically: same gradients with none, blocks and all", async () => {
  const ref = await readSafetensors(join(TINY_A, "train_step.safetensors"));
  const none = await trainStep(ref, "none");
  for (const policy of ["blocks", "all"] as const) {
    const other = await trainStep(ref, policy);
    assert.equal(other.loss, none.loss);
    for (const [key, g] of none.grads) assert.deepEqual(other.grads.get(key), g, `${policy}: ${key}`);
    console.log(`${policy}: peak ${other.peak} B vs ${none.peak} B without checkpointing`);
  }
});
