import assert from "node:assert/strict";
import { join } from "node:path";
import { DEPTH_RANGE } from "../../core/data/datasets.ts";
import { type EvalSummary, runEvaluation } from "../../core/eval/run.ts";
import { evaluateImage, METRIC_NAMES } from "../../core/eval/metrics.ts";
import { alignDisparity } from "../../core/eval/align.ts";
import { labelRegions } from "../../core/eval/flat.ts";
import { decodePng } from "../../core/io/png.ts";
import {
  augmentedFixtures,
  FIXTURES,
  type KnownFrame,
  knownFrames,
  luminanceInside,
  standIn,
  truth,
} from "./helpers.ts";

const quiet = { write: () => {}, tty: false };
const RANGE = DEPTH_RANGE.hypersim;

let shared: Promise<{ root: string; frames: Map<string, KnownFrame> }> | undefined;
/** One augmented fixture set for the whole file (augmenting takes a second or two). */
function augmented() {
  shared ??= (async () => {
    const root = await augmentedFixtures(join(await Deno.makeTempDir(), "set"));
    return { root, frames: await knownFrames("hypersim", root) };
  })();
  return shared;
}

async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  return text.split("\n").filter((l) => l).map((l) => JSON.parse(l));
}

/** Least-squares plane a·u + b·v + c through (u, v, z) by Cramer's rule, and the RMS relative residual. */
function planeResidual(points: [number, number, number][]): number {
  const s = { uu: 0, uv: 0, u: 0, vv: 0, v: 0, n: 0, uz: 0, vz: 0, z: 0 };
  const mu = points.reduce((a, p) => a + p[0], 0) / points.length;
  const mv = points.reduce((a, p) => a + p[1], 0) / points.length;
  for (const [u0, v0, z] of points) {
    const u = u0 - mu, v = v0 - mv;
    s.uu += u * u, s.uv += u * v, s.u += u, s.vv += v * v, s.v += v, s.n += 1, s.uz += u * z, s.vz += v * z;
    s.z += z;
  }
  const det3 = (m: number[]) =>
    m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
    m[2] * (m[3] * m[7] - m[4] * m[6]);
  const M = [s.uu, s.uv, s.u, s.uv, s.vv, s.v, s.u, s.v, s.n];
  const r = [s.uz, s.vz, s.z];
  const d = det3(M);
  const coef = [0, 1, 2].map((c) => det3(M.map((x, i) => (i % 3 === c ? r[Math.floor(i / 3)] : x))) / d);
  let sq = 0;
  for (const [u, v, z] of points) {
    const fit = coef[0] * (u - mu) + coef[1] * (v - mv) + coef[2];
    sq += ((z - fit) / fit) ** 2;
  }
  return Math.sqrt(sq / points.length);
}

Deno.test("eval: the truth is not fooled and has zero error; a model seeing the picture's depth is fooled", async () => {
  const { root, frames } = await augmented();
  const out = await Deno.makeTempDir();
  const summary = await runEvaluation({
    dataset: "hypersim",
    root,
    out,
    estimators: [standIn("truth", frames, truth), standIn("fooled", frames, luminanceInside)],
    sheet: 3,
    ply: 1,
    progress: quiet,
  });
  assert.equal(summary.images.evaluated, frames.size);
  assert.equal(summary.images.withMask, frames.size);
  const [t, f] = summary.models;

  // The truth: zero error everywhere, every pasted region flat (float16 storage leaves ~1e-4).
  assert.equal(t.official.mean!.abs_rel, 0);
  assert.equal(t.official.mean!.d1, 1);
  assert.equal(t.flat.fooledRate, 0);
  assert(t.flat.meanFlatnessError! < 1e-3);
  assert.equal(t.flat.meanAbsRel, 0);
  assert.equal(t.flat.falseFlatRate, 0, "real depth behind a border is not flat");

  // The fooled model: every pasted region fooled; background untouched.
  assert(f.flat.pasted > 0);
  assert.equal(f.flat.fooledRate, 1);
  assert.equal(f.background.mean!.abs_rel, 0);
  assert.equal(f.delta!.fooledRate, 1);

  // Official metrics, recomputed here frame by frame from the same predictions.
  const sums = Object.fromEntries(METRIC_NAMES.map((k) => [k, 0]));
  let count = 0;
  for (const frame of frames.values()) {
    const pred = luminanceInside(frame).map((z, i) => (frame.valid[i] && z > 0 ? z : 1));
    const m = evaluateImage(
      { data: pred, width: frame.width, height: frame.height },
      { data: frame.depth, width: frame.width, height: frame.height },
      frame.valid,
      RANGE,
    );
    if (!m) continue;
    count++;
    for (const k of METRIC_NAMES) sums[k] += m[k];
  }
  assert.equal(f.official.images, count);
  for (const k of METRIC_NAMES) assert(Math.abs(f.official.mean![k] - sums[k] / count) < 1e-12, k);
  for (const k of METRIC_NAMES) {
    assert(Math.abs(f.delta!.official[k]! - (sums[k] / count - t.official.mean![k])) < 1e-12);
  }

  // Per-region flatness error and abs_rel, recomputed with an independent plane fit.
  const lines = await readJsonl(join(out, "per_image.jsonl"));
  assert.equal(lines.length, frames.size);
  let regionsSeen = 0;
  for (const line of lines) {
    const frame = frames.get(line.id as string)!;
    const pred = luminanceInside(frame);
    const regions = labelRegions(frame.mask!, frame.width, frame.height).filter((r) => r.pixels.length >= 16);
    const models = line.models as { regions: { flatnessError: number; absRel: number; fooled: boolean }[] }[];
    assert.equal(models[1].regions.length, regions.length);
    regions.forEach((region, k) => {
      const pts = [...region.pixels].map((p) =>
        [p % frame.width, Math.floor(p / frame.width), 1 / pred[p]] as [
          number,
          number,
          number,
        ]
      );
      const expected = planeResidual(pts);
      const got = models[1].regions[k];
      assert(Math.abs(got.flatnessError - expected) < 1e-9 * Math.max(1, expected), `${line.id} region ${k}`);
      if (region.label !== 3) {
        let absRel = 0, n = 0;
        for (const p of region.pixels) {
          if (!frame.valid[p]) continue;
          absRel += Math.abs(pred[p] - frame.depth[p]) / frame.depth[p];
          n++;
        }
        assert(Math.abs(got.absRel - absRel / n) < 1e-12);
        assert(got.fooled);
        regionsSeen++;
      }
    });
  }
  assert.equal(regionsSeen, f.flat.pasted);

  // Outputs: report lists both models; figures and sheet decode at their sizes; one frame of point clouds.
  const report = await Deno.readTextFile(join(out, "report.md"));
  assert.match(report, /truth vs fooled/);
  assert.match(
    report,
    /\| fooled rate \(flatness error > 0\.02\) ↓ \| 0\.0 % \| 100\.0 % \| \+100\.0 pp ✗ \|/,
  );
  assert.deepEqual(summary.files.charts, [
    "charts/metrics.png",
    "charts/flatness_error.png",
    "charts/fooled_by_size.png",
  ]);
  for (const file of [...summary.files.charts, summary.files.sheet!]) {
    const png = decodePng(await Deno.readFile(join(out, file)), file);
    assert(png.width > 300 && png.height > 200, file);
    assert(report.includes(`](${file})`), `${file} in the report`);
  }
  const onDisk: EvalSummary = JSON.parse(await Deno.readTextFile(join(out, "summary.json")));
  assert.deepEqual(onDisk.models.map((m) => m.name), ["truth", "fooled"]);
  assert.equal(summary.files.ply.length, 3);
});

Deno.test("eval: the point cloud unprojects valid pixels through the intrinsics", async () => {
  const { root, frames } = await augmented();
  const out = await Deno.makeTempDir();
  const summary = await runEvaluation({
    dataset: "hypersim",
    root,
    out,
    estimators: [standIn("truth", frames, truth)],
    ply: 1,
    limit: 1,
    progress: quiet,
  });
  const bytes = await Deno.readFile(join(out, summary.files.ply[0]));
  const text = new TextDecoder("latin1").decode(bytes);
  const headerEnd = text.indexOf("end_header\n") + "end_header\n".length;
  const n = Number(/element vertex (\d+)/.exec(text)![1]);
  const frame = [...frames.values()][0];
  const expected = [...frame.depth].filter((z, i) =>
    frame.valid[i] && z >= RANGE.minDepth && z <= RANGE.maxDepth
  );
  assert.equal(n, expected.length);
  assert.equal(bytes.length, headerEnd + 15 * n);
  // The first point is the first valid pixel: check its coordinates against the official Hypersim pinhole.
  const first = frame.valid.indexOf(1);
  const u = first % frame.width, v = Math.floor(first / frame.width);
  const f = (886.81 * frame.width) / 1024, cx = (frame.width - 1) / 2, cy = (frame.height - 1) / 2;
  const view = new DataView(bytes.buffer, headerEnd);
  const z = frame.depth[first];
  assert(Math.abs(view.getFloat32(0, true) - ((u - cx) / f) * z) < 1e-5);
  assert(Math.abs(view.getFloat32(4, true) - ((v - cy) / f) * z) < 1e-5);
  assert.equal(view.getFloat32(8, true), z);
});

Deno.test("eval: frames without masks get the official metrics only", async () => {
  const root = join(FIXTURES, "hypersim");
  const frames = await knownFrames("hypersim", root);
  const out = await Deno.makeTempDir();
  const summary = await runEvaluation({
    dataset: "hypersim",
    root,
    split: join(root, "splits", "val.txt"),
    out,
    estimators: [standIn("truth", frames, truth)],
    sheet: 5,
    progress: quiet,
  });
  assert.equal(summary.images.evaluated, 2);
  assert.equal(summary.images.withMask, 0);
  assert.equal(summary.models[0].flat.pasted, 0);
  assert.equal(summary.models[0].background.mean, null);
  assert.deepEqual(summary.files.charts, ["charts/metrics.png"]);
  assert.equal(summary.files.sheet, null);
  assert.match(await Deno.readTextFile(join(out, "report.md")), /official metrics only/);
});

Deno.test("eval: the report says which depth range it counted and how train.py's differs", async () => {
  const root = join(FIXTURES, "hypersim");
  const frames = await knownFrames("hypersim", root);
  const evaluate = async (range?: { minDepth: number; maxDepth: number }) => {
    const out = await Deno.makeTempDir();
    const estimators = [standIn("truth", frames, truth)];
    const summary = await runEvaluation({
      dataset: "hypersim",
      root,
      out,
      estimators,
      range,
      progress: quiet,
    });
    return { summary, report: await Deno.readTextFile(join(out, "report.md")) };
  };
  const byDataset = await evaluate();
  assert.deepEqual(byDataset.summary.range, RANGE);
  assert.equal(byDataset.summary.rangeSource, "dataset");
  assert.match(
    byDataset.report,
    /Depth range 0\.001–20 m \(hypersim's range; `--eval-range MIN,MAX` sets another\)/,
  );
  assert.match(byDataset.report, /train\.py's range is its min_depth to the model's max_depth/);

  const given = await evaluate({ minDepth: 0.5, maxDepth: 5 });
  assert.deepEqual(given.summary.range, { minDepth: 0.5, maxDepth: 5 });
  assert.equal(given.summary.rangeSource, "option");
  assert.match(given.report, /Depth range 0\.5–5 m \(given by `--eval-range`; hypersim's is 0\.001–20 m\)/);
  assert.match(given.report, /only where that range is 0\.5–5 m/);
});

Deno.test("eval: a frame a model fails on is recorded in rejects.jsonl and skipped for every model", async () => {
  const { root, frames } = await augmented();
  const out = await Deno.makeTempDir();
  const victim = [...frames.keys()][2];
  const flaky = standIn("flaky", frames, (f) => {
    if (f === frames.get(victim)) throw new Error("out of memory (simulated)");
    return f.depth;
  });
  const summary = await runEvaluation({
    dataset: "hypersim",
    root,
    out,
    estimators: [standIn("truth", frames, truth), flaky],
    progress: quiet,
  });
  assert.equal(summary.images.evaluated, frames.size - 1);
  assert.equal(summary.images.failed, 1);
  const rejects = await readJsonl(join(out, "rejects.jsonl"));
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0].id, victim);
  assert.equal(rejects[0].stage, "predict (flaky)");
  assert.match(rejects[0].error as string, /out of memory/);
  assert.equal((await readJsonl(join(out, "per_image.jsonl"))).length, frames.size - 1);
  assert.equal(summary.models[0].official.images, summary.models[1].official.images);
});

Deno.test("eval: a relative model is aligned by scale and shift in disparity", () => {
  const gt = Float32Array.from([1, 2, 4, 5, 8]);
  const disparity = gt.map((z) => 3 / z + 0.25);
  const aligned = alignDisparity(disparity, gt, new Uint8Array(5).fill(1));
  aligned.forEach((z, i) => assert(Math.abs(z - gt[i]) < 1e-5 * gt[i]));
});
