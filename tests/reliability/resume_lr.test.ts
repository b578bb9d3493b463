/**
 * `train --resume` with a new --lr (issue 13, case 11): once taken silently, and a resume with no step left to
 * take printed "mean step NaN ms". A new rate is allowed (lowering it is the way on after a divergence) but
 * said in a note, used from the resume point on, and the summary speaks only of steps that ran.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { polyLr } from "../../core/train/schedule.ts";
import { FIXTURES, hashTree, inTempDir, runTask, smallModelConfig } from "./helpers.ts";

const NOTE = /--lr 0\.0001 replaces the run's 0\.000005 from step 1 on/;

Deno.test("train --resume with a new --lr says so, and never prints a NaN step time", async () => {
  await inTempDir(async (dir) => {
    const root = join(FIXTURES, "hypersim");
    const run = join(dir, "run");
    const first = await runTask("train", [
      ...["--init", "--config", await smallModelConfig(dir), "--dataset", "hypersim", "--root", root],
      ...["--split", join(root, "splits/train.txt"), "--val-split", join(root, "splits/val.txt")],
      ...["--out", run, "--img-size", "42", "--workers", "1", "--max-steps", "1", "--lr", "0.000005"],
    ]);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const dataset = await hashTree(root);

    // The run is at its end: nothing to train, the note still given, no step time made up.
    const checkpoints = [...(await hashTree(run))].filter(([path]) => /\.(safetensors|pth)$/.test(path));
    const atEnd = await runTask("train", ["--resume", "--out", run, "--lr", "1e-4"]);
    assert.equal(atEnd.code, 0, atEnd.stdout + atEnd.stderr);
    assert.match(atEnd.stdout, NOTE);
    assert.match(atEnd.stdout, /done: 1\/1 steps/);
    assert.doesNotMatch(atEnd.stdout + atEnd.stderr, /NaN/);
    const after = await hashTree(run);
    for (const [path, hash] of checkpoints) assert.equal(after.get(path), hash, `${path} was rewritten`);

    // One more step: taken at the new rate, the step before it kept at the old one.
    const further = await runTask("train", ["--resume", "--out", run, "--lr", "1e-4", "--max-steps", "2"]);
    assert.equal(further.code, 0, further.stdout + further.stderr);
    assert.match(further.stdout, NOTE);
    assert.match(further.stdout, /done: 2\/2 steps .*mean step \d+ ms/);
    assert.doesNotMatch(further.stdout + further.stderr, /NaN/);
    const steps = (await Deno.readTextFile(join(run, "train.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(steps.map((s) => s.lr), [0.000005, polyLr(1e-4, 1, 2)]);
    assert.deepEqual(await hashTree(root), dataset, "the dataset changed");
  });
});
