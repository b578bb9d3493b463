/**
 * `deno task train` as a researcher coming from train.py runs it: the start-of-run summary, --min-depth in
 * the loss range, and --resume with nothing but --out (every setting read back from train.settings.json).
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { runTaskFile } from "../helpers/run_task.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");
const TINY_A = join(REFERENCE_DIR, "tiny-a");

sharedTest("train: a summary before the first step; --resume needs only --out", async () => {
  const out = await Deno.makeTempDir();
  const first = await runTaskFile("train", [
    "--load-from",
    join(TINY_A, "weights.pth"),
    "--config",
    join(TINY_A, "config.json"),
    "--dataset",
    "hypersim",
    "--root",
    FIXTURES,
    "--split",
    join(FIXTURES, "splits/train.txt"),
    "--val-split",
    join(FIXTURES, "splits/val.txt"),
    "--save-path",
    out,
    "--img-size",
    "42",
    "--max-steps",
    "1",
    "--min-depth",
    "0.5",
    "--lr",
    "1e-4",
    "--workers",
    "1",
  ]);
  assert.equal(first.code, 0, first.text);
  assert.match(first.text, /^data: +hypersim, 4 training frames, 2 validation/m);
  assert.match(first.text, /^steps: +1 in all \(--max-steps 1\): 48 epochs × 4 steps of batch 1$/m);
  assert.match(first.text, /loss over 0\.5–20 m/);
  assert.match(
    first.text,
    /^memory: +planned step peak [\d.]+ \w+ \(.*weights [\d.]+ \w+.*; [\d,]+ of [\d,]+ parameters trained$/m,
  );
  assert.match(first.text, /^device: /m);

  // Only --out (and how far to go now): the rest is the run's own, the .pth's head and range included.
  const resumed = await runTaskFile("train", ["--resume", "--out", out, "--max-steps", "2"]);
  assert.equal(resumed.code, 0, resumed.text);
  assert.match(resumed.text, /resuming at step 1/);
  assert.match(resumed.text, /loss over 0\.5–20 m/);
  assert.match(resumed.text, /done: 2\/2 steps/);
  const steps = (await Deno.readTextFile(join(out, "train.jsonl"))).trim().split("\n");
  assert.equal(steps.length, 2);

  // A setting that defines the run, given again differently, is still refused.
  const changed = await runTaskFile("train", ["--resume", "--out", out, "--max-steps", "3", "--seed", "5"]);
  assert.equal(changed.code, 2, changed.text);
  assert.match(changed.text, /--resume with other settings: .*seed/);
  // The loss's range defines the run too: another --min-depth would change the loss mid-run.
  const range = await runTaskFile("train", [
    "--resume",
    "--out",
    out,
    "--max-steps",
    "3",
    "--min-depth",
    "0.1",
  ]);
  assert.equal(range.code, 2, range.text);
  assert.match(range.text, /--resume with other settings: minDepth was 0\.5, now 0\.1/);
  await Deno.remove(out, { recursive: true });
});

Deno.test("train: --resume where no run was written says there is nothing to resume", async () => {
  const out = await Deno.makeTempDir();
  const run = await runTaskFile("train", ["--resume", "--out", out]);
  assert.equal(run.code, 1, run.text);
  assert.match(run.text, /nothing to resume: no train\.settings\.json here/);
  await Deno.remove(out, { recursive: true });
});
