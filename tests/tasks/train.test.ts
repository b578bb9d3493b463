/**
 * `deno task train` as a user runs it: bad flags refused with one clear line naming the flag, and a short
 * run of tiny-a on the Hypersim fixtures (split paths relative to --root) that leaves every output.
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TASK = new URL("../../tasks/train.ts", import.meta.url).pathname;
const FIXTURES = resolve(import.meta.dirname!, "../../fixtures/hypersim");
const TINY_A = join(REFERENCE_DIR, "tiny-a");

async function train(
  args: string[],
  cwd?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", TASK, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

const REQUIRED = [
  "--weights",
  join(TINY_A, "weights.safetensors"),
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
];

Deno.test("train: bad flags give one clear line naming the flag, exit 2", async () => {
  const out = await Deno.makeTempDir();
  const cases: [string[], RegExp][] = [
    [[], /--weights: is required/],
    [[...REQUIRED], /--out: is required/],
    [[...REQUIRED, "--out", out, "--dataset", "kitti"], /--dataset: "kitti" is not one of hypersim, vkitti2/],
    [
      [...REQUIRED, "--out", out, "--img-size", "100"],
      /--img-size: 100 is not a multiple of the patch size 14/,
    ],
    [[...REQUIRED, "--out", out, "--freeze", "blocks:2"], /--freeze: "blocks:2" is not a freeze policy/],
    [[...REQUIRED, "--out", out, "--checkpoint", "some"], /--checkpoint: "some" is not a checkpoint policy/],
    [[...REQUIRED, "--out", out, "--epochs", "0"], /--epochs: "0" is not an integer ≥ 1/],
    [[...REQUIRED, "--out", out, "--lr=-1"], /--lr: must be a positive number, got -1/],
    [[...REQUIRED, "--out", out, "--lr", "fast"], /--lr: "fast" is not a number/],
    [[...REQUIRED, "--out", out, "--encoder", "vith"], /--encoder: "vith" is not one of vits, vitb, vitl/],
    [[...REQUIRED, "--out", out, "--max-steps=-3"], /--max-steps: "-3" is not an integer ≥ 1/],
    [[...REQUIRED, "--out", out, "--learning-rate", "1"], /--learning-rate: unknown option/],
    [[...REQUIRED, "--out", out, "--epoch", "1"], /--epoch: unknown option \(did you mean --epochs\?/],
    [[...REQUIRED, "--out", out, "--batch", "2", "--bs", "4"], /--batch \/ --bs: given twice .*"2", "4"/],
    [[...REQUIRED, "--out", out, "--bs", "0"], /--batch: "0" is not an integer ≥ 1/],
    [[...REQUIRED, "--out", out, "--port", "2"], /--port: unknown option \(trompe trains on one device/],
    [
      [...REQUIRED, "--out", out, "--pretrained-from", "encoder.pth"],
      /--pretrained-from: is the starting checkpoint: give one of --weights, --init, --pretrained-from/,
    ],
    [[...REQUIRED, "--out", out, "--min-depth", "0"], /--min-depth: must be a positive number, got 0/],
  ];
  for (const [args, message] of cases) {
    const run = await train(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
    const lines = run.stderr.trim().split("\n");
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], /^error: bad-argument: /);
    assert.match(lines[0], message);
  }
  await Deno.remove(out, { recursive: true });
});

sharedTest(
  "train: model and run problems are named (encoder mismatch, block range, missing resume point)",
  async () => {
    const out = await Deno.makeTempDir();
    const cases: [string[], RegExp][] = [
      [
        [...REQUIRED, "--out", out, "--encoder", "vits"],
        /--encoder vits \(embed 384, depth 12\) does not match/,
      ],
      [
        [...REQUIRED, "--out", out, "--freeze", "blocks:2-7"],
        /blocks 2-7 is not a range of the model's blocks/,
      ],
      [[...REQUIRED, "--out", out, "--resume"], /nothing to resume: no train_state\.safetensors here/],
      [[...REQUIRED.slice(0, -2), "--out", out], /train\.txt: no frames are left for validation/],
    ];
    for (const [args, message] of cases) {
      const run = await train(args);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /\n\s+at /, "no stack trace without --debug");
    }
    await Deno.remove(out, { recursive: true });
  },
);

sharedTest(
  "train: two steps of tiny-a leave checkpoints, logs, the loss curve and the run record",
  async () => {
    const out = await Deno.makeTempDir();
    // The split files' paths are relative to --root, and the run starts in an unrelated working directory.
    const run = await train([
      ...REQUIRED,
      "--val-split",
      join(FIXTURES, "splits/val.txt"),
      "--out",
      out,
      "--img-size",
      "42",
      "--max-steps",
      "2",
      "--lr",
      "1e-4",
      "--workers",
      "1",
      // train.py's name for --batch: two steps of two frames each.
      "--bs",
      "2",
    ], out);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /done: 2\/2 steps \(max-steps\), best abs_rel \d\.\d{4} at step 2/);
    for (
      const file of [
        "latest.safetensors",
        "latest.pth",
        "best.safetensors",
        "best.pth",
        "train_state.safetensors",
        "train.jsonl",
        "val.jsonl",
        "loss_curve.png",
        "train.run.json",
      ]
    ) {
      assert.ok((await Deno.stat(join(out, file))).size > 0, file);
    }
    const steps = (await Deno.readTextFile(join(out, "train.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.deepEqual(steps.map((s) => s.step), [0, 1]);
    // Step 0 and step 1 both run at the base rate (train.py sets the next step's rate after each step).
    assert.deepEqual(steps.map((s) => s.lr), [1e-4, 1e-4]);
    const record = JSON.parse(await Deno.readTextFile(join(out, "train.run.json")));
    assert.equal(record.task, "train");
    // The device is printed and recorded.
    assert.match(
      run.stdout,
      /^device: .+: (software \(CPU\)|hardware \(GPU\)), backend .+, adapter \d+ of \d+/m,
    );
    assert.equal(typeof record.adapter.name, "string");
    assert.equal(typeof record.adapter.software, "boolean");
    assert.equal(record.settings.trainFrames, 4);
    assert.equal(record.settings.valFrames, 2);
    const settings = JSON.parse(await Deno.readTextFile(join(out, "train.settings.json")));
    assert.equal(settings.batch, 2);
    assert.equal(settings.stepsPerEpoch, 2);

    // Starting again in the same directory without --resume is refused rather than overwriting the run.
    const again = await train([...REQUIRED, "--out", out, "--img-size", "42"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds a run.*--resume/);
    await Deno.remove(out, { recursive: true });
  },
);
