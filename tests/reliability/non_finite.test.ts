/**
 * Non-finite weights and outputs (issue 13, case 1 and 4): a diverging run never saves a NaN checkpoint and
 * keeps its last finite one; a NaN checkpoint is refused by the tasks that would use it; a NaN depth map is a
 * failure, not a result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors, writeSafetensors } from "../../core/io/safetensors.ts";
import { rasterU8 } from "../../core/io/raster.ts";
import { inferDepth } from "../../core/nn/predict.ts";
import { TrompeError } from "../../core/errors.ts";
import {
  assertOneErrorLine,
  assertUnchanged,
  FIXTURES,
  hashTree,
  inTempDir,
  runTask,
  smallModelConfig,
} from "./helpers.ts";

const HYPERSIM = join(FIXTURES, "hypersim");

async function trainArgs(dir: string): Promise<string[]> {
  return [
    "--init",
    "--config",
    await smallModelConfig(dir),
    "--dataset",
    "hypersim",
    "--root",
    HYPERSIM,
    "--split",
    join(HYPERSIM, "splits/train.txt"),
    "--val-split",
    join(HYPERSIM, "splits/val.txt"),
    "--out",
    join(dir, "run"),
    "--img-size",
    "42",
    "--workers",
    "1",
    "--val-every",
    "1",
  ];
}

// A learning rate so large that AdamW's step size overflows float32: the loss of step 0 is finite, the weights
// after it are not.
const DIVERGING_LR = "1e38";

Deno.test("train: weights made non-finite by AdamW are never saved; the run stops with one line", async () => {
  await inTempDir(async (dir) => {
    const run = await runTask("train", [...await trainArgs(dir), "--lr", DIVERGING_LR, "--max-steps", "2"]);
    assertOneErrorLine(run, 2, /diverged by step 1/, /NaN or infinity/, /nothing was saved/, /lower --lr/);
    for (const name of ["latest.safetensors", "latest.pth", "best.safetensors", "train_state.safetensors"]) {
      await assert.rejects(() => Deno.stat(join(dir, "run", name)), Deno.errors.NotFound);
    }
  });
});

Deno.test("train --resume that diverges keeps the last finite checkpoint byte for byte", async () => {
  await inTempDir(async (dir) => {
    const args = await trainArgs(dir);
    const first = await runTask("train", [...args, "--max-steps", "1"]);
    assert.equal(first.code, 0, first.stderr);
    const checkpoints = new Map(
      [...await hashTree(join(dir, "run"))].filter(([p]) => /\.(safetensors|pth)$/.test(p)),
    );
    assert(checkpoints.has("latest.safetensors") && checkpoints.has("train_state.safetensors"));
    const resumed = await runTask("train", [...args, "--resume", "--max-steps", "2", "--lr", DIVERGING_LR]);
    assertOneErrorLine(resumed, 2, /diverged by step 2/, /last finite checkpoint \(step 1\) stays/);
    await assertUnchanged(join(dir, "run"), checkpoints, "the last finite save");
  });
});

Deno.test("predict and eval refuse a checkpoint holding NaN, naming the file", async () => {
  await inTempDir(async (dir) => {
    const first = await runTask("train", [...await trainArgs(dir), "--max-steps", "1"]);
    assert.equal(first.code, 0, first.stderr);
    const good = await readSafetensors(join(dir, "run", "latest.safetensors"));
    const poisoned = join(dir, "poisoned.safetensors");
    await writeSafetensors(
      poisoned,
      good.names().map((name) => {
        const data = good.float32(name);
        if (name === "pretrained.blocks.0.attn.qkv.weight") data.fill(NaN);
        return { name, dtype: "F32" as const, shape: [...good.shape(name)], data };
      }),
      good.metadata,
    );
    const image = join(HYPERSIM, "ai_900_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg");
    const predicted = await runTask("predict", [
      "--weights",
      poisoned,
      "--input",
      image,
      "--out",
      join(dir, "p"),
    ]);
    assertOneErrorLine(
      predicted,
      1,
      /non-finite/,
      /poisoned\.safetensors/,
      /1 of 127 tensors/,
      /blocks\.0\.attn\.qkv/,
    );
    const evaluated = await runTask("eval", [
      "--weights",
      poisoned,
      "--dataset",
      "hypersim",
      "--root",
      HYPERSIM,
      "--split",
      join(HYPERSIM, "splits/val.txt"),
      "--out",
      join(dir, "e"),
    ]);
    assertOneErrorLine(evaluated, 1, /non-finite/, /poisoned\.safetensors/);
  });
});

Deno.test("a depth map with NaN is a failure naming the problem, not a result", async () => {
  const image = rasterU8(28, 28, 3);
  const engine = {
    kind: "test",
    forward: (_input: Float32Array, h: number, w: number) => {
      const depth = new Float32Array(h * w).fill(2);
      depth[3] = NaN;
      return Promise.resolve(depth);
    },
    dispose: () => {},
  };
  const error = await inferDepth(engine, image, 28).then(() => null, (e) => e);
  assert(error instanceof TrompeError, String(error));
  assert.equal(error.code, "non-finite");
  assert.match(error.message, /NaN or infinite at 1 of 784 pixels/);
});
