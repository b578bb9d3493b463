/**
 * The training step as `deno task train` runs it — core/train/train_step.ts's TrainStepper, with its own
 * gradient sink and AdamW — against train.py's steps on tiny-a (../shared/reference/README.md §3):
 *
 * - one step (train_step.safetensors): the loss, every gradient (read back from AdamW's first moments:
 *   after one step m = (1 − β1)·g and v = (1 − β2)·g², so both moments are checked at once), the weights
 *   after the step and the update itself (after − before), each against PyTorch's float64 run;
 * - five steps of the trainer's loop (train_steps.safetensors): the poly schedule's rate each step, the
 *   losses, and after the fifth step the weights, the update and both AdamW moments against PyTorch's own
 *   moments — not against adamwStepF64 (adamw_ref.ts), which shares its scalars with the kernel.
 *
 * Bounds are per tensor: a small factor over what PyTorch's own float32 run misses its float64 run by on
 * the same tensor (its rounding sets how close a float32 implementation can get), with a floor where
 * PyTorch's float32 happens to land nearer than float32 rounding allows in general. A skipped, doubled or
 * mis-corrected update moves some tensor's update or moment by ≥ 1e-2, orders of magnitude past its bound.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readSafetensors, type SafetensorsFile } from "../../core/io/safetensors.ts";
import { loadCheckpoint } from "../../core/nn/model/checkpoint.ts";
import type { ModelConfig } from "../../core/nn/model/config.ts";
import { freeWeights, type GpuWeights, uploadWeights } from "../../core/nn/model/weights.ts";
import { OFFICIAL_ADAMW } from "../../core/train/adamw.ts";
import type { CheckpointPolicy } from "../../core/train/checkpointing.ts";
import { type FreezePolicy, isTrainable } from "../../core/train/freeze.ts";
import { MIN_DEPTH } from "../../core/train/options.ts";
import { polyLr } from "../../core/train/schedule.ts";
import { type StepBatch, TrainStepper } from "../../core/train/train_step.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

const TINY_A = join(REFERENCE_DIR, "tiny-a");
const device = await Runtime.create();
/**
 * The device taken as a CPU adapter and as a GPU, whatever it is: every op picks its kernels by `isCpu` (on a
 * GPU the 128-tile matmul, the GPU attention and conv kernels), so both sets are checked on any machine.
 */
const cpuRt = new Runtime({ ...device.ctx, isCpu: true });
const gpuRt = new Runtime({ ...device.ctx, isCpu: false });

interface Opened {
  config: ModelConfig;
  before: Map<string, Float32Array>;
  weights: GpuWeights;
  stepper: TrainStepper;
}

async function openStepper(
  rt: Runtime,
  checkpoint: CheckpointPolicy,
  trainable: (key: string) => boolean = () => true,
): Promise<Opened> {
  const { config, stateDict } = await loadCheckpoint(join(TINY_A, "weights.safetensors"), {
    configFile: join(TINY_A, "config.json"),
  });
  const before = new Map<string, Float32Array>();
  for (const [key, t] of stateDict) before.set(key, Float32Array.from(t.data as ArrayLike<number>));
  const weights = uploadWeights(rt, stateDict);
  const stepper = new TrainStepper(rt, config, weights, { checkpoint, trainable });
  return { config, before, weights, stepper };
}

/** The reference's batch `prefix` (image, depth, valid_mask) as the trainer hands it to the stepper. */
function batchOf(ref: SafetensorsFile, prefix: string): StepBatch {
  const [batch, , height, width] = ref.shape(`${prefix}image`);
  return {
    batch,
    height,
    width,
    image: ref.float32(`${prefix}image`),
    depth: ref.float32(`${prefix}depth`),
    valid: Uint32Array.from(ref.raw(`${prefix}valid_mask`) as Uint8Array),
  };
}

interface AfterSteps {
  losses: number[];
  after: Map<string, Float32Array>;
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
  /** Steps AdamW counted per parameter. */
  counts: Map<string, number>;
}

/** Reads the weights and AdamW's moments back, then frees everything and checks nothing leaked. */
async function readAndClose(rt: Runtime, o: Opened, losses: number[]): Promise<AfterSteps> {
  const after = new Map<string, Float32Array>();
  for (const [key, t] of o.weights.tensors) after.set(key, await rt.read(t));
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  const counts = new Map<string, number>();
  for (const [key, slot] of o.stepper.adam.slots) {
    m.set(key, await rt.read(slot.m));
    v.set(key, await rt.read(slot.v));
    counts.set(key, slot.step);
  }
  o.stepper.dispose();
  freeWeights(rt, o.weights);
  const leaks = rt.pool.liveLabels().filter((l) => !l.startsWith("tmp/unused"));
  assert.deepEqual(leaks, [], "buffers left after the steps");
  return { losses, after, m, v, counts };
}

function range(config: ModelConfig) {
  return { minDepth: MIN_DEPTH, maxDepth: config.maxDepth! };
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  const d = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
  return d;
}

/** Per-tensor figures: trompe's rel_l2 beside PyTorch float32's, and the bound each is held to. */
interface Figure {
  key: string;
  trompe: number;
  torch: number;
  bound: number;
}

/**
 * Each tensor's bound is FACTOR × max(PyTorch float32's own rel_l2 on that tensor, the kind's floor). The
 * floors sit where float32 rounding noise lands for any summation order (PyTorch's float32 is one sample of
 * it and sometimes lands luckily low): measured on both kernel sets (2026-12-06, lavapipe) the worst
 * figures were, with PyTorch's beside them — gradients 9.27e-6 (output_conv2.2.bias, PyTorch 2.81e-6; the
 * GPU kernels 3.61e-6), weights after one step 4.07e-6 (scratch.layer2_rn.weight, PyTorch 6.37e-7), the
 * update 5.22e-4 after five steps (blocks.0.attn.qkv.weight, PyTorch 1.01e-4; an element whose gradient is
 * near zero flips Adam's ≈ lr·sign(g) step), moments 9.41e-6 (PyTorch 1.01e-5), loss 7.96e-8.
 */
const FACTOR = 5;
const FLOOR = { loss: 1e-7, gradient: 3e-6, weight: 2e-6, update: 2e-4, moment: 1e-6 } as const;

function figure(key: string, trompe: number, torch: number, kind: keyof typeof FLOOR): Figure {
  return { key, trompe, torch, bound: FACTOR * Math.max(torch, FLOOR[kind]) };
}

function report(title: string, figures: Figure[]): Figure[] {
  const worst = figures.reduce((a, b) => (b.trompe / b.bound > a.trompe / a.bound ? b : a));
  const worstAbs = figures.reduce((a, b) => (b.trompe > a.trompe ? b : a));
  console.log(
    `${title}: worst ${worstAbs.trompe.toExponential(2)} (${worstAbs.key}, PyTorch f32 ` +
      `${worstAbs.torch.toExponential(2)}); nearest its bound ${worst.trompe.toExponential(2)} of ` +
      `${worst.bound.toExponential(2)} (${worst.key})`,
  );
  if (Deno.env.get("DUMP")) {
    for (const f of figures) {
      console.log(
        `${title}\t${f.key}\t${f.trompe.toExponential(2)}\t${f.torch.toExponential(2)}\t${
          (f.trompe / Math.max(f.torch, 1e-30)).toFixed(2)
        }`,
      );
    }
  }
  return figures.filter((f) => !(f.trompe <= f.bound));
}

function assertWithin(failures: Figure[], what: string): void {
  // The ten furthest past their bounds, and how many in all (a wrong update moves every later tensor).
  const worst = failures.toSorted((a, b) => b.trompe / b.bound - a.trompe / a.bound).slice(0, 10);
  assert.deepEqual(
    worst.map((f) => `${f.key}: ${f.trompe.toExponential(2)} > ${f.bound.toExponential(2)}`),
    [],
    `${failures.length} ${what} past their bounds`,
  );
}

for (const [kernels, rt] of [["CPU-adapter", cpuRt], ["GPU", gpuRt]] as const) {
  sharedTest(
    `TrainStepper, one step of tiny-a on the ${kernels} kernels: loss, gradients, moments, weights and the ` +
      `update itself equal PyTorch's float64 step`,
    async () => {
      const ref = await readSafetensors(join(TINY_A, "train_step.safetensors"));
      const torchAfter = await readSafetensors(join(TINY_A, "after_step.safetensors"));
      const afterRef = await readSafetensors(join(TINY_A, "after_step_f64ref.safetensors"));
      const opened = await openStepper(rt, "none");
      const lr = Number(ref.metadata.lr_encoder);
      const outcome = await opened.stepper.step(batchOf(ref, ""), lr, range(opened.config));
      assert.ok(outcome.applied, "the step was applied");
      const got = await readAndClose(rt, opened, [outcome.loss]);

      const lossRef = ref.float64("loss_f64ref")[0];
      const lossRel = Math.abs(outcome.loss - lossRef) / lossRef;
      const lossTorch = Math.abs(ref.float64("loss")[0] - lossRef) / lossRef;
      console.log(
        `loss relative error ${lossRel.toExponential(2)} (PyTorch f32 ${lossTorch.toExponential(2)})`,
      );

      const withGrad = ref.names().filter((n) => n.startsWith("grad_f64ref/")).map((n) => n.slice(12)).sort();
      assert.deepEqual(
        [...got.m.keys()].sort(),
        withGrad,
        "parameters AdamW updated = those with a gradient",
      );
      const b1 = 1 - OFFICIAL_ADAMW.beta1, b2 = 1 - OFFICIAL_ADAMW.beta2;
      const grads: Figure[] = [], second: Figure[] = [], weights: Figure[] = [], updates: Figure[] = [];
      for (const key of withGrad) {
        assert.equal(got.counts.get(key), 1, `${key}: AdamW steps`);
        const want = ref.float64(`grad_f64ref/${key}`);
        const torch = relL2(ref.float64(`grad/${key}`), want);
        grads.push(figure(key, relL2(got.m.get(key)!.map((x) => x / b1), want), torch, "gradient"));
        const absWant = want.map(Math.abs);
        const absGot = Float64Array.from(got.v.get(key)!, (x) => Math.sqrt(x / b2));
        second.push(
          figure(
            key,
            relL2(absGot, absWant),
            relL2(ref.float64(`grad/${key}`).map(Math.abs), absWant),
            "gradient",
          ),
        );
      }
      for (const key of afterRef.names()) {
        const before = opened.before.get(key)!;
        const after = got.after.get(key)!;
        if (!withGrad.includes(key)) {
          // No gradient (mask_token; refinenet4.resConfUnit1, never called): torch skips it, weight decay too.
          assert.deepEqual(after, before, `${key} has no gradient and must not move`);
          continue;
        }
        const want = afterRef.float64(key);
        weights.push(figure(key, relL2(after, want), relL2(torchAfter.float64(key), want), "weight"));
        const wantUpdate = difference(want, before);
        updates.push(
          figure(
            key,
            relL2(difference(after, before), wantUpdate),
            relL2(difference(torchAfter.float64(key), before), wantUpdate),
            "update",
          ),
        );
      }
      const failures = [
        ...report("gradients (from m)", grads),
        ...report("|gradients| (from v)", second),
        ...report("weights after the step", weights),
        ...report("update (after − before)", updates),
      ];
      const loss = figure("loss", lossRel, lossTorch, "loss");
      assertWithin([...failures, ...(loss.trompe <= loss.bound ? [] : [loss])], "tensors");
    },
  );
}

for (const [kernels, rt] of [["CPU-adapter", cpuRt], ["GPU", gpuRt]] as const) {
  sharedTest(
    `the trainer's step loop, five steps of tiny-a on the ${kernels} kernels: poly rates, losses, weights, ` +
      `update and both AdamW moments equal train.py's (PyTorch's float64 run)`,
    async () => {
      const ref = await readSafetensors(join(TINY_A, "train_steps.safetensors"));
      const steps = Number(ref.metadata.steps);
      const base = Number(ref.metadata.lr_encoder_base);
      const opened = await openStepper(rt, "blocks");
      const lrs = ref.float64("lr_encoder");
      const losses: number[] = [];
      for (let k = 0; k < steps; k++) {
        // The rate the trainer's loop computes for step k of `steps`, held to the one train.py used.
        const lr = polyLr(base, k, steps);
        assert.ok(Math.abs(lr - lrs[k]) <= 1e-15 * lrs[k], `step ${k}: lr ${lr} vs train.py's ${lrs[k]}`);
        const outcome = await opened.stepper.step(batchOf(ref, `step${k}/`), lr, range(opened.config));
        assert.ok(outcome.applied, `step ${k} applied`);
        losses.push(outcome.loss);
      }
      const got = await readAndClose(rt, opened, losses);

      const lossRef = ref.float64("loss_f64ref"), lossTorch = ref.float64("loss");
      const lossFigures = losses.map((l, k) =>
        figure(
          `step ${k}`,
          Math.abs(l - lossRef[k]) / lossRef[k],
          Math.abs(lossTorch[k] - lossRef[k]) / lossRef[k],
          "loss",
        )
      );
      const keys = ref.names().filter((n) => n.startsWith("after_f64ref/")).map((n) => n.slice(13)).sort();
      const withMoments = ref.names().filter((n) => n.startsWith("exp_avg_f64ref/")).map((n) => n.slice(15))
        .sort();
      assert.deepEqual([...got.m.keys()].sort(), withMoments, "parameters with AdamW state");
      const weights: Figure[] = [], updates: Figure[] = [], m: Figure[] = [], v: Figure[] = [];
      for (const key of keys) {
        const before = opened.before.get(key)!;
        const after = got.after.get(key)!;
        if (!withMoments.includes(key)) {
          assert.deepEqual(after, before, `${key} has no gradient and must not move`);
          continue;
        }
        assert.equal(got.counts.get(key), steps, `${key}: AdamW steps`);
        const want = ref.float64(`after_f64ref/${key}`);
        const torch = ref.float64(`after/${key}`);
        weights.push(figure(key, relL2(after, want), relL2(torch, want), "weight"));
        const wantUpdate = difference(want, before);
        updates.push(
          figure(
            key,
            relL2(difference(after, before), wantUpdate),
            relL2(difference(torch, before), wantUpdate),
            "update",
          ),
        );
        for (const [name, figures, moments] of [["exp_avg", m, got.m], ["exp_avg_sq", v, got.v]] as const) {
          const wantMoment = ref.float64(`${name}_f64ref/${key}`);
          figures.push(
            figure(
              key,
              relL2(moments.get(key)!, wantMoment),
              relL2(ref.float64(`${name}/${key}`), wantMoment),
              "moment",
            ),
          );
        }
      }
      const failures = [
        ...report("losses", lossFigures),
        ...report("weights after five steps", weights),
        ...report("update over five steps (after − before)", updates),
        ...report("exp_avg", m),
        ...report("exp_avg_sq", v),
      ];
      assertWithin(failures, "tensors");
    },
  );
}

sharedTest(
  "checkpointing recomputes bit-identically: same weights and moments with none, blocks and all",
  async () => {
    const ref = await readSafetensors(join(TINY_A, "train_step.safetensors"));
    const lr = Number(ref.metadata.lr_encoder);
    const runWith = async (policy: CheckpointPolicy) => {
      const opened = await openStepper(cpuRt, policy);
      const outcome = await opened.stepper.step(batchOf(ref, ""), lr, range(opened.config));
      return { outcome, got: await readAndClose(cpuRt, opened, [outcome.loss]) };
    };
    const none = await runWith("none");
    for (const policy of ["blocks", "all"] as const) {
      const other = await runWith(policy);
      assert.equal(other.outcome.loss, none.outcome.loss);
      for (const [key, w] of none.got.after) {
        assert.deepEqual(
          other.got.after.get(key),
          w,
          `${policy}: ${key}`,
        );
      }
      for (const [key, m] of none.got.m) assert.deepEqual(other.got.m.get(key), m, `${policy}: m of ${key}`);
      for (const [key, v] of none.got.v) assert.deepEqual(other.got.v.get(key), v, `${policy}: v of ${key}`);
      console.log(
        `${policy}: peak ${other.outcome.stats.peakBytes} B vs ${none.outcome.stats.peakBytes} B without checkpointing`,
      );
    }
  },
);

/**
 * Freezing part of the model must not change the gradients of the rest: gradients still flow back through
 * frozen weights (a frozen decoder passes them to the encoder; frozen blocks 1-2 to block 0 and the patch
 * embedding), so one step's trainable gradients are train.py's full-model ones, and frozen weights get
 * neither a moment nor a change.
 */
for (const freeze of [{ kind: "decoder" }, { kind: "blocks", first: 1, last: 2 }] as FreezePolicy[]) {
  const name = freeze.kind === "blocks" ? `blocks:${freeze.first}-${freeze.last}` : freeze.kind;
  sharedTest(
    `TrainStepper with --freeze ${name}: trainable gradients are PyTorch's, frozen weights untouched`,
    async () => {
      const ref = await readSafetensors(join(TINY_A, "train_step.safetensors"));
      const trainable = (key: string) => isTrainable(key, freeze);
      const opened = await openStepper(cpuRt, "blocks", trainable);
      const outcome = await opened.stepper.step(
        batchOf(ref, ""),
        Number(ref.metadata.lr_encoder),
        range(opened.config),
      );
      assert.ok(outcome.applied);
      const got = await readAndClose(cpuRt, opened, [outcome.loss]);
      const withGrad = ref.names().filter((n) => n.startsWith("grad_f64ref/")).map((n) => n.slice(12));
      const expected = withGrad.filter(trainable).sort();
      assert.ok(
        expected.length > 0 && expected.length < withGrad.length,
        "some parameters train, some are frozen",
      );
      assert.deepEqual(
        [...got.m.keys()].sort(),
        expected,
        "moments for exactly the trainable parameters with a gradient",
      );
      const grads: Figure[] = [];
      for (const key of expected) {
        const want = ref.float64(`grad_f64ref/${key}`);
        const b1 = 1 - OFFICIAL_ADAMW.beta1;
        grads.push(
          figure(
            key,
            relL2(got.m.get(key)!.map((x) => x / b1), want),
            relL2(ref.float64(`grad/${key}`), want),
            "gradient",
          ),
        );
      }
      for (const [key, before] of opened.before) {
        if (!trainable(key)) {
          assert.deepEqual(got.after.get(key), before, `${key} is frozen and must not move`);
        }
      }
      assertWithin(report(`gradients under --freeze ${name}`, grads), "gradients");
    },
  );
}
