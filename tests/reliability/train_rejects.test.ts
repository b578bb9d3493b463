/**
 * Training on frames that fail to load (issue 13, case 6): each is recorded in rejects.jsonl and the run
 * record, a step left without a frame does not advance the schedule, the run exits 3 instead of 0, and a split whose every frame fails stops the run as an error instead
 * of "finishing" with the weights unchanged.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { TRAIN_DEFAULTS } from "../../core/train/options.ts";
import { polyLr } from "../../core/train/schedule.ts";
import {
  assertOneErrorLine,
  assertUnchanged,
  copyTree,
  FIXTURES,
  hashTree,
  inTempDir,
  runTask,
  smallModelConfig,
} from "./helpers.ts";

async function brokenCopy(dir: string, broken: (rgb: string) => boolean): Promise<string> {
  const root = join(dir, "hypersim");
  await copyTree(join(FIXTURES, "hypersim"), root);
  const lines = (await Deno.readTextFile(join(root, "splits/train.txt"))).trim().split("\n");
  for (const rgb of lines.map((l) => l.split(" ")[0]).filter(broken)) {
    await Deno.truncate(join(root, rgb), 200);
  }
  return root;
}

async function train(dir: string, root: string) {
  return await runTask("train", [
    ...["--init", "--config", await smallModelConfig(dir), "--dataset", "hypersim", "--root", root],
    ...["--split", join(root, "splits/train.txt"), "--val-split", join(root, "splits/val.txt")],
    ...["--out", join(dir, "run"), "--img-size", "42", "--workers", "1", "--epochs", "1"],
  ]);
}

const BROKEN = "ai_900_001/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg";

Deno.test("train records a frame that fails to load in rejects.jsonl and exits 3", async () => {
  await inTempDir(async (dir) => {
    const root = await brokenCopy(dir, (rgb) => rgb === BROKEN);
    const before = await hashTree(root);
    const run = await train(dir, root);
    assert.equal(run.code, 3, run.stdout + run.stderr);
    assert.match(run.stdout, /1 frames? failed to load: see .*rejects\.jsonl/);
    const rejects = (await Deno.readTextFile(join(dir, "run/rejects.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].id, BROKEN);
    assert.equal(rejects[0].stage, "train");
    assert.match(rejects[0].error, /JPEG ends before its end-of-image marker/);
    const record = JSON.parse(await Deno.readTextFile(join(dir, "run/train.run.json")));
    assert.equal(record.failures, 1);
    // The step left without a frame updated nothing and does not move the poly schedule.
    const steps = (await Deno.readTextFile(join(dir, "run/train.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    const skippedAt = steps.findIndex((r) => r.loss === null);
    assert.equal(steps.filter((r) => r.loss === null).length, 1);
    const later = steps.filter((r) => r.step > skippedAt && r.loss !== null);
    assert(later.some((r) => r.step >= 2), "no later step where the schedule would show the skip");
    for (const r of later) {
      assert.equal(r.lr, polyLr(TRAIN_DEFAULTS.lr, r.step - 1, steps.length), `step ${r.step}`);
    }
    await assertUnchanged(root, before, "the dataset");
  });
});

Deno.test("train stops with one line when every training frame fails to load", async () => {
  await inTempDir(async (dir) => {
    const root = await brokenCopy(dir, () => true);
    const run = await train(dir, root);
    const line = assertOneErrorLine(
      run,
      1,
      /empty: .*train\.txt: all 4 training frames failed to load \(first: .*tonemap\.jpg/,
    );
    const first = JSON.parse((await Deno.readTextFile(join(dir, "run/rejects.jsonl"))).split("\n")[0]);
    assert(
      line.includes(`(first: ${first.id}: `),
      `${line}\nnames another frame than the first, ${first.id}`,
    );
    await assert.rejects(() => Deno.stat(join(dir, "run/latest.safetensors")), Deno.errors.NotFound);
  });
});
