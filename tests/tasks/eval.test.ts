import assert from "node:assert/strict";
import { join } from "node:path";
import type { EvalSummary } from "../../core/eval/run.ts";
import { METRIC_NAMES } from "../../core/eval/metrics.ts";
import { decodePng } from "../../core/io/png.ts";
import { modelNames } from "../../core/cli/model_sources.ts";
import { augmentedFixtures } from "../eval/helpers.ts";
import { REFERENCE_DIR, runTaskFile, sharedTest } from "../shared.ts";

const TINY = join(REFERENCE_DIR, "tiny-a");

const run = (args: string[]) => runTaskFile("eval", args);

/** Each frame's official metrics in an eval --out folder, as one JSON line. */
async function officialPerImage(out: string): Promise<string> {
  const lines = (await Deno.readTextFile(join(out, "per_image.jsonl"))).trim().split("\n");
  return JSON.stringify(lines.map((line) => {
    const frame = JSON.parse(line);
    return { id: frame.id, official: frame.models[0].official };
  }));
}

const close = (a: number | null | undefined, b: number | null | undefined, tol: number) =>
  a === b ||
  (typeof a === "number" && typeof b === "number" && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)));

sharedTest(
  "deno task eval: tiny-a through WebGPU and through ONNX gives the same metrics (1e-4)",
  async () => {
    const dir = await Deno.makeTempDir();
    try {
      const set = await augmentedFixtures(join(dir, "set"));
      // Fixture frames are 256×192: at input size 70 they preprocess to 70×98, model.onnx's fixed input.
      const common = [
        "--dataset",
        "hypersim",
        "--root",
        set,
        "--input-size",
        "70",
        "--limit",
        "3",
        "--sheet",
        "2",
      ];
      const gpu = await run([
        "--weights",
        join(TINY, "weights.safetensors"),
        "--config",
        join(TINY, "config.json"),
        "--names",
        "tiny-gpu",
        "--ply",
        "1",
        "--out",
        join(dir, "gpu"),
        ...common,
      ]);
      assert.equal(gpu.code, 0, gpu.stderr);
      const onnx = await run([
        "--engine",
        "onnx",
        "--model",
        join(TINY, "model.onnx"),
        "--names",
        "tiny-onnx",
        "--out",
        join(dir, "onnx"),
        ...common,
      ]);
      assert.equal(onnx.code, 0, onnx.stderr);
      const read = async (d: string): Promise<EvalSummary> =>
        JSON.parse(await Deno.readTextFile(join(dir, d, "summary.json")));
      const [a, b] = [(await read("gpu")).models[0], (await read("onnx")).models[0]];
      assert.equal(a.official.images, 3);
      assert.equal(b.official.images, 3);
      // Each frame's metrics from both runs go into a failure's message, so a mismatch says where it lies.
      const frames = `\nwebgpu per image: ${await officialPerImage(join(dir, "gpu"))}` +
        `\nonnx per image: ${await officialPerImage(join(dir, "onnx"))}`;
      for (const k of METRIC_NAMES) {
        const [ao, bo] = [a.official.mean![k], b.official.mean![k]];
        assert(close(ao, bo, 1e-4), `official ${k}: webgpu ${ao}, onnx ${bo}${frames}`);
        const [ab, bb] = [a.background.mean![k], b.background.mean![k]];
        assert(close(ab, bb, 1e-4), `background ${k}: webgpu ${ab}, onnx ${bb}${frames}`);
      }
      assert(close(a.flat.meanFlatnessError, b.flat.meanFlatnessError, 1e-4));
      assert(close(a.flat.meanAbsRel, b.flat.meanAbsRel, 1e-4));
      assert.equal(a.flat.pasted, b.flat.pasted);

      // The outputs a researcher opens.
      const report = await Deno.readTextFile(join(dir, "gpu", "report.md"));
      assert.match(report, /# trompe evaluation: tiny-gpu/);
      assert.match(report, /\| tiny-gpu \| `.*weights\.safetensors` \| metric depth \|/);
      assert.match(report, /Depth range 0\.001–20 m \(hypersim's range/);
      const summary = await read("gpu");
      for (const file of [...summary.files.charts, summary.files.sheet!]) {
        const png = decodePng(await Deno.readFile(join(dir, "gpu", file)), file);
        assert(png.width > 300 && png.height > 150, file);
      }
      assert.equal(summary.files.ply.length, 2);
      const record = JSON.parse(await Deno.readTextFile(join(dir, "gpu", "eval.run.json")));
      assert.equal(record.task, "eval");
      assert.equal(record.inputs.models[0].config.maxDepth, 20);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("deno task eval: flag mistakes are one-line usage errors", async () => {
  const noModel = await run(["--dataset", "hypersim", "--root", ".", "--out", "x"]);
  assert.equal(noModel.code, 2);
  assert.match(noModel.stderr, /^error: bad-argument: --weights: is required/);
  const wrongEngine = await run([
    "--weights",
    "a.pth",
    "--model",
    "b.onnx",
    "--dataset",
    "vkitti2",
    "--root",
    ".",
    "--out",
    "x",
  ]);
  assert.equal(wrongEngine.code, 2);
  assert.match(wrongEngine.stderr, /--model: does not apply to --engine webgpu/);
  const names = await run([
    "--weights",
    "a.pth",
    "--names",
    "x,y",
    "--dataset",
    "hypersim",
    "--root",
    ".",
    "--out",
    "x",
  ]);
  assert.match(names.stderr, /--names: gives 2 names for 1 models/);
  const range = await run([
    "--weights",
    "a.pth",
    "--eval-range",
    "20,1",
    "--dataset",
    "hypersim",
    "--root",
    ".",
    "--out",
    "x",
  ]);
  assert.equal(range.code, 2);
  assert.match(range.stderr, /--eval-range: "20,1" is not MIN,MAX with 0 ≤ MIN < MAX/);
  const help = await run(["--help"]);
  assert.equal(help.code, 0);
  for (
    const flag of [
      "--weights",
      "--engine",
      "--model",
      "--split",
      "--sheet",
      "--ply",
      "--flat-threshold",
      "--limit",
      "--eval-range",
    ]
  ) {
    assert(help.stdout.includes(flag), flag);
  }
});

Deno.test("deno task eval: model names from files stay unique", () => {
  assert.deepEqual(modelNames(["/a/pretrained.pth", "/b/finetuned.safetensors"]), [
    "pretrained",
    "finetuned",
  ]);
  assert.deepEqual(modelNames(["/run1/best.pth", "/run2/best.pth"]), ["run1/best", "run2/best"]);
  assert.deepEqual(modelNames(["/r/best.pth", "/r/best.safetensors"]), ["r/best#1", "r/best#2"]);
});
