/**
 * runTraining end to end on tiny-a (../shared/reference) and the Hypersim fixtures at small crops: exact
 * resume after a crash or an interrupt, a frozen encoder left bitwise alone with no gradient or optimizer
 * bytes, checkpoints read back identically, the loss halved by a short fine-tune, a diverging run stopped
 * with the last good checkpoint kept.
 */
import assert from "node:assert/strict";
import { cpSync } from "node:fs";
import { join, resolve } from "node:path";
import { Runtime } from "../../core/gpu/runtime.ts";
import { readPth } from "../../core/io/pth.ts";
import type { TrompeError } from "../../core/errors.ts";
import {
  expectedKeys,
  expectedShapes,
  loadCheckpoint,
  type StateDict,
} from "../../core/nn/model/checkpoint.ts";
import { adapterFor } from "../../core/data/adapters.ts";
import { trainTransform } from "../../core/data/transform.ts";
import { epochOrder, listTrainVal } from "../../core/train/data_loader.ts";
import type { StepRecord } from "../../core/train/train_log.ts";
import type { TrainOptions } from "../../core/train/options.ts";
import { runTraining } from "../../core/train/trainer.ts";
import { loadTrainState } from "../../core/train/train_state.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TINY_A = join(REFERENCE_DIR, "tiny-a");
const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");
const rt = await Runtime.create();
const quiet = { write: () => {}, tty: false };

function options(out: string, extra: Partial<TrainOptions> = {}): TrainOptions {
  return {
    weights: join(TINY_A, "weights.safetensors"),
    configFile: join(TINY_A, "config.json"),
    dataset: "hypersim",
    root: FIXTURES,
    split: join(FIXTURES, "splits/train.txt"),
    valSplit: join(FIXTURES, "splits/val.txt"),
    out,
    imgSize: 42,
    lr: 1e-4,
    seed: 3,
    workers: 1,
    runtime: rt,
    progress: quiet,
    ...extra,
  };
}

async function weightsOf(path: string): Promise<StateDict> {
  return (await loadCheckpoint(path, { configFile: join(TINY_A, "config.json") })).stateDict;
}

function assertBitwiseEqual(a: StateDict, b: StateDict, what: string): void {
  assert.deepEqual([...a.keys()], [...b.keys()], `${what}: keys`);
  for (const [key, t] of a) {
    const u = b.get(key)!;
    assert.deepEqual(u.shape, t.shape, `${what}: ${key} shape`);
    const x = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const y = new Uint32Array(u.data.buffer, u.data.byteOffset, u.data.length);
    assert.ok(x.every((v, i) => v === y[i]), `${what}: ${key} differs`);
  }
}

async function assertSameState(a: string, b: string): Promise<void> {
  const [x, y] = [
    await loadTrainState(join(a, "train_state.safetensors")),
    await loadTrainState(join(b, "train_state.safetensors")),
  ];
  assert.equal(y.info.step, x.info.step);
  assert.deepEqual(y.info.adamSteps, x.info.adamSteps);
  assertBitwiseEqual(x.stateDict, y.stateDict, "weights");
  for (const [key, m] of x.moments) {
    assert.deepEqual(y.moments.get(key), m, `AdamW moments of ${key}`);
  }
}

sharedTest(
  "a crashed or interrupted run resumes exactly: weights, moments and losses bitwise equal",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-train-resume-" });
    // 6 steps over two epochs of 4 frames; saves every 2 steps and at each epoch's end.
    const settings = { maxSteps: 6, valEvery: 2, checkpoint: "blocks" as const };
    const whole = await runTraining(options(join(dir, "whole"), settings));
    assert.equal(whole.steps, 6);

    // A crash after step 5 (index 4): the last save was at step 4, so the resume redoes step 5 from there.
    const crashed = join(dir, "crashed");
    await assert.rejects(
      runTraining(options(crashed, {
        ...settings,
        onStep: (r) => {
          if (r.step === 4) throw new Error("simulated kill");
        },
      })),
      /simulated kill/,
    );
    assert.equal((await loadTrainState(join(crashed, "train_state.safetensors"))).info.step, 4);
    const resumed = await runTraining(options(crashed, { ...settings, resume: true }));
    assert.equal(resumed.steps, 6);
    assert.deepEqual(resumed.losses.map((l) => l.step), [4, 5]);
    await assertSameState(join(dir, "whole"), crashed);
    assertBitwiseEqual(
      await weightsOf(join(dir, "whole/latest.safetensors")),
      await weightsOf(join(crashed, "latest.safetensors")),
      "latest after crash + resume",
    );
    const losses = async (d: string) =>
      (await Deno.readTextFile(join(d, "train.jsonl"))).trim().split("\n").map((l) => JSON.parse(l).loss);
    assert.deepEqual(await losses(crashed), await losses(join(dir, "whole")), "train.jsonl after resume");

    // Ctrl-C after 3 steps (between saves): the interrupt saves the resume point at step 3.
    const interrupted = join(dir, "interrupted");
    const controller = new AbortController();
    const first = await runTraining(options(interrupted, {
      ...settings,
      signal: controller.signal,
      onStep: (r) => {
        if (r.step === 2) controller.abort();
      },
    }));
    assert.equal(first.stopped, "interrupted");
    assert.equal(first.steps, 3);
    await runTraining(options(interrupted, { ...settings, resume: true }));
    await assertSameState(join(dir, "whole"), interrupted);

    // Resuming with a setting the data order depends on is refused, naming it.
    await assert.rejects(
      runTraining(options(interrupted, { ...settings, resume: true, seed: 4 })),
      (e: TrompeError) => e.code === "bad-argument" && /seed was 3, now 4/.test(e.message),
    );
    await Deno.remove(dir, { recursive: true });
  },
);

sharedTest(
  "--batch 2 resumes exactly too: a crash mid-epoch redoes its batch from the last save, bitwise",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-train-resume-batch-" });
    // 4 frames in batches of 2: two steps an epoch; 4 steps over two epochs, saving after every step.
    const settings = { batch: 2, maxSteps: 4, valEvery: 1, checkpoint: "blocks" as const };
    const whole = await runTraining(options(join(dir, "whole"), settings));
    assert.equal(whole.steps, 4);
    const crashed = join(dir, "crashed");
    await assert.rejects(
      runTraining(options(crashed, {
        ...settings,
        onStep: (r) => {
          if (r.step === 2) throw new Error("simulated kill");
        },
      })),
      /simulated kill/,
    );
    // Killed once the third step (index 2) is taken, before its save: the last save was after two steps, so
    // the resume redoes the first batch of epoch 1.
    assert.equal((await loadTrainState(join(crashed, "train_state.safetensors"))).info.step, 2);
    const resumed = await runTraining(options(crashed, { ...settings, resume: true }));
    assert.deepEqual(resumed.losses.map((l) => l.step), [2, 3]);
    await assertSameState(join(dir, "whole"), crashed);
    assertBitwiseEqual(
      await weightsOf(join(dir, "whole/latest.safetensors")),
      await weightsOf(join(crashed, "latest.safetensors")),
      "latest after crash + resume at batch 2",
    );
    await Deno.remove(dir, { recursive: true });
  },
);

sharedTest("--freeze encoder: encoder weights bitwise unchanged, no grads/adam bytes for them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-train-freeze-" });
  // Every buffer the run allocates, by label: parameter gradients are `grads/<key>`, moments `adam/<key>.m|v`
  // (activation gradients are `grads/act/...`).
  const labels = new Set<string>();
  const alloc = rt.pool.alloc.bind(rt.pool);
  rt.pool.alloc = (label, bytes, usage) => {
    labels.add(label);
    return alloc(label, bytes, usage);
  };
  let result;
  try {
    result = await runTraining(options(dir, { maxSteps: 3, freeze: { kind: "encoder" } }));
  } finally {
    rt.pool.alloc = alloc;
  }
  const paramGrads = [...labels].filter((l) => l.startsWith("grads/") && !l.startsWith("grads/act/"));
  assert.ok(paramGrads.length > 0, "no parameter gradient was ever allocated");
  assert.deepEqual(paramGrads.filter((l) => l.startsWith("grads/pretrained.")), [], "encoder gradients");
  assert.deepEqual([...labels].filter((l) => l.startsWith("adam/pretrained.")), [], "encoder moments");
  const before = await weightsOf(join(TINY_A, "weights.safetensors"));
  const after = await weightsOf(join(dir, "latest.safetensors"));
  let changedDecoder = 0;
  for (const [key, t] of before) {
    const same = t.data.every((v, i) => Object.is(v, after.get(key)!.data[i]));
    if (key.startsWith("pretrained.")) assert.ok(same, `${key} changed under --freeze encoder`);
    else if (!same) changedDecoder++;
  }
  assert.ok(changedDecoder > 0, "the decoder trained");
  const state = await loadTrainState(join(dir, "train_state.safetensors"));
  const withState = [...state.moments.keys()];
  assert.ok(withState.every((k) => !k.startsWith("pretrained.")), "optimizer state for an encoder parameter");
  // The peak's AdamW bytes are the two moments of exactly the decoder parameters that receive gradients
  // (refinenet4's first residual unit never does: the official head never calls it).
  const shapes = expectedShapes((await loadCheckpoint(join(dir, "latest.safetensors"))).config);
  const receiving = [...shapes].filter(([k]) =>
    !k.startsWith("pretrained.") && !k.includes("refinenet4.resConfUnit1")
  );
  assert.deepEqual(withState.sort(), receiving.map(([k]) => k).sort());
  const decoderBytes = receiving.reduce((s, [, shape]) => s + 4 * shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(result.peak.peakBreakdown.adam, 2 * decoderBytes);
  await Deno.remove(dir, { recursive: true });
});

sharedTest(
  "checkpoints: the .pth has exactly the official keys and reads back identical to the safetensors",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-train-pth-" });
    // Trained on a copy of the fixtures that carries an augmentation recipe, as augmented sets do.
    const root = join(dir, "set");
    cpSync(FIXTURES, root, { recursive: true });
    await Deno.writeTextFile(join(root, "recipe.json"), "{}\n");
    const run = join(dir, "run");
    const result = await runTraining(options(run, {
      root,
      split: join(root, "splits/train.txt"),
      valSplit: join(root, "splits/val.txt"),
      maxSteps: 2,
    }));
    for (const name of ["latest", "best"]) {
      const st = await loadCheckpoint(join(run, `${name}.safetensors`));
      // The safetensors record config, head, max depth and provenance: no flags needed to reload it.
      assert.equal(st.config.head, "metric");
      assert.equal(st.config.maxDepth, 20);
      assert.equal(st.provenance?.steps, 2);
      assert.equal(st.provenance?.parent, join(TINY_A, "weights.safetensors"));
      assert.equal(st.provenance?.recipe, join(root, "recipe.json"));
      const pth = await readPth(join(run, `${name}.pth`));
      assert.equal(pth.kind, "state_dict");
      assert.deepEqual([...pth.tensors.keys()], expectedKeys(st.config), "strict load_state_dict keys");
      assertBitwiseEqual(st.stateDict, pth.tensors, `${name}.pth`);
      const viaLoader = await loadCheckpoint(join(run, `${name}.pth`), {
        configFile: join(TINY_A, "config.json"),
      });
      assertBitwiseEqual(st.stateDict, viaLoader.stateDict, `${name}.pth through loadCheckpoint`);
    }
    assert.equal(result.best?.step, 2);
    const png = await Deno.readFile(join(run, "loss_curve.png"));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
    const record = JSON.parse(await Deno.readTextFile(join(run, "train.run.json")));
    assert.equal(record.results.steps, 2);
    const log = (await Deno.readTextFile(join(run, "train.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(Object.keys(log[0]).sort(), [
      "epoch",
      "loss",
      "lr",
      "ms",
      "peakBytes",
      "pixels",
      "step",
    ]);
    assert.ok(log.every((l) => l.peakBytes > 0 && Number.isFinite(l.loss)));
    await Deno.remove(dir, { recursive: true });
  },
);

sharedTest(
  "a non-finite loss stops the run with a clear error and leaves the last good checkpoint",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-train-nan-" });
    await runTraining(options(dir, { maxSteps: 2 }));
    const good = await weightsOf(join(dir, "latest.safetensors"));
    const goodState = await Deno.readFile(join(dir, "train_state.safetensors"));
    await assert.rejects(
      runTraining(options(dir, { maxSteps: 40, lr: 1e12, resume: true })),
      (e: TrompeError) =>
        e.code === "bad-argument" && e.subject === "--lr" && /non-finite loss/.test(e.message) &&
        /last good checkpoint \(step 2\)/.test(e.message),
    );
    assertBitwiseEqual(good, await weightsOf(join(dir, "latest.safetensors")), "latest after divergence");
    assert.deepEqual(await Deno.readFile(join(dir, "train_state.safetensors")), goodState);
    await Deno.remove(dir, { recursive: true });
  },
);

sharedTest("a short fine-tune of tiny-a on the fixture frames at least halves the loss", async () => {
  const dir = await Deno.makeTempDir({ prefix: "trompe-train-fit-" });
  // The 4 training frames listed 25 times: one epoch (and so one validation) per 100 steps, each frame seen
  // under fresh crops and flips (a repeated line is the same frame: its draws depend on the epoch).
  const lines = (await Deno.readTextFile(join(FIXTURES, "splits/train.txt"))).trim().split("\n");
  const split = join(dir, "train_x25.txt");
  await Deno.writeTextFile(split, Array(25).fill(lines.join("\n")).join("\n") + "\n");
  const steps = 100;
  const result = await runTraining(
    options(join(dir, "run"), { split, maxSteps: steps, lr: 5e-4, checkpoint: "none" }),
  );
  const losses = result.losses.map((l) => l.loss);
  assert.equal(losses.length, steps);
  const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
  const [early, late] = [mean(losses.slice(0, 15)), mean(losses.slice(-15))];
  console.log(
    `loss: first 15 steps ${early.toFixed(4)}, last 15 ${late.toFixed(4)} (×${(late / early).toFixed(3)}); ` +
      `val abs_rel ${result.validations.map((v) => v.metrics?.abs_rel.toFixed(4)).join(" → ")}; ` +
      `${result.meanStepMs.toFixed(0)} ms/step`,
  );
  assert.ok(late <= 0.5 * early, `loss went from ${early} to ${late}`);
  await Deno.remove(dir, { recursive: true });
});

sharedTest(
  "--batch 2: each step stacks the next two frames of the epoch order, the loss counting both",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "trompe-train-batch-" });
    const records: StepRecord[] = [];
    const o = options(dir, { batch: 2, maxSteps: 2, onStep: (r) => void records.push(r) });
    const result = await runTraining(o);
    assert.equal(result.stepsPerEpoch, 2);
    // The pixels the loss counted: valid & 0.001 ≤ d ≤ 20 over the official train transform of the frames
    // that epoch 0's order puts in each batch, computed here on the CPU from the dataset reader.
    const { train } = await listTrainVal("hypersim", FIXTURES, o.split, o.valSplit, o.seed!);
    const order = epochOrder(train, o.seed!, 0);
    for (const [step, record] of records.entries()) {
      let expected = 0;
      for (const ref of order.slice(2 * step, 2 * step + 2)) {
        const sample = await adapterFor("hypersim").read(FIXTURES, ref);
        const item = trainTransform(sample, { size: o.imgSize, seed: o.seed!, id: ref.rgb, epoch: 0 });
        for (let i = 0; i < item.valid.length; i++) {
          if (item.valid[i] && item.depth[i] >= 0.001 && item.depth[i] <= 20) expected++;
        }
      }
      assert.equal(record.pixels, expected, `step ${step}`);
      assert.ok(Number.isFinite(record.loss));
    }
    await Deno.remove(dir, { recursive: true });
  },
);
