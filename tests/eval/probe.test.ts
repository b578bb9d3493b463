import assert from "node:assert/strict";
import { join } from "node:path";
import { adapterFor } from "../../core/augment/datasets.ts";
import { MASK } from "../../core/augment/sample_augment.ts";
import type { DepthEstimator } from "../../core/eval/estimator.ts";
import { pasteArt, type ProbeRecord, runProbe } from "../../core/eval/probe.ts";
import {
  type ArtLevel,
  artLevels,
  type ArtSet,
  BLANK_NAME,
  loadArt,
  probeLevels,
} from "../../core/eval/probe_art.ts";
import { PROBE_CHART } from "../../core/eval/probe_report.ts";
import { TrompeError } from "../../core/errors.ts";
import { decodePng } from "../../core/io/png.ts";
import { FIXTURES, type KnownFrame, luminanceInside, standIn, truth } from "./helpers.ts";

const ROOT = join(FIXTURES, "hypersim");
// vKITTI2 frames carry ground-truth depth, so the art's depth ranges need no model.
const ART = join(FIXTURES, "vkitti2");
const SIZES = [0.02, 0.08, 0.25];
const LIMIT = 2;
const quiet = { write: () => {}, tty: false };
const unused: DepthEstimator = {
  name: "unused",
  kind: "depth",
  predict: () => Promise.reject(new Error("dataset art must not need a model")),
};

async function frames() {
  const adapter = adapterFor("hypersim");
  const refs = (await adapter.list(ROOT)).frames.slice(0, LIMIT);
  return Promise.all(refs.map(async (ref) => ({ ref, sample: await adapter.read(ROOT, ref) })));
}

/** Every paste the probe makes with these settings, keyed for the stand-ins. */
async function pastes(levels: readonly ArtLevel[], seed: number): Promise<Map<string, KnownFrame>> {
  const known = new Map<string, KnownFrame>();
  for (const { ref, sample } of await frames()) {
    known.set(ref.rgb, { ...sample, mask: null });
    for (const level of levels) {
      for (const size of SIZES) {
        const p = await pasteArt(sample, `${ref.rgb}#0`, level, size, seed);
        known.set(`${ref.rgb} ${level.index} ${size}`, { ...p, width: sample.width, height: sample.height });
      }
    }
  }
  return known;
}

const withoutTimes = (text: string) => text.replace(/"seconds":[^,}]+/g, '"seconds":0');

Deno.test("probe: dataset art is ranked by its own depth range into equal levels", async () => {
  const art = await loadArt(ART, unused);
  assert.equal(art.kind, "vkitti2");
  assert.equal(art.pieces.length, 6);
  const levels = artLevels(art, 3);
  assert.deepEqual(levels.map((l) => l.pieces.length), [2, 2, 2]);
  for (let k = 1; k < levels.length; k++) {
    assert.ok(levels[k].depthRatio[0] >= levels[k - 1].depthRatio[1], "levels are ordered by depth ratio");
  }
  assert.ok(levels[2].depthRatio[1] > levels[0].depthRatio[0], "the art set has a spread of depth ranges");
});

Deno.test("probe: the pasted area grows as requested (measured on the mask) and pastes are seeded", async () => {
  const levels = artLevels(await loadArt(ART, unused), 3);
  for (const { ref, sample } of await frames()) {
    let previous = 0;
    for (const size of SIZES) {
      const p = await pasteArt(sample, `${ref.rgb}#0`, levels[1], size, 5);
      const labelled = p.mask.reduce((n, m) => n + (m === MASK.art ? 1 : 0), 0);
      const area = labelled / (sample.width * sample.height);
      assert.ok(area > previous, `${ref.rgb}: ${area} after ${previous}`);
      assert.ok(area > 0.5 * size && area < 1.5 * size, `${ref.rgb}: asked ${size}, got ${area}`);
      assert.equal(p.area, area);
      previous = area;
      const again = await pasteArt(sample, `${ref.rgb}#0`, levels[1], size, 5);
      assert.deepEqual(again.rgb.data, p.rgb.data);
      assert.deepEqual(again.mask, p.mask);
      const other = await pasteArt(sample, `${ref.rgb}#0`, levels[1], size, 6);
      assert.notDeepEqual(other.mask, p.mask, "another seed places the art elsewhere");
    }
  }
});

Deno.test("probe: flat truth is never fooled, the picture's own depth is, and runs repeat by seed", async () => {
  const art = await loadArt(ART, unused);
  const levels = probeLevels(art, 3);
  assert.deepEqual(levels.map((l) => l.index), [0, 1, 2, 3]);
  assert.equal(levels[0].pieces[0].name, BLANK_NAME);
  const known = await pastes(levels, 11);
  const dir = await Deno.makeTempDir();
  try {
    const run = (estimator: DepthEstimator, out: string, seed = 11) =>
      runProbe({
        dataset: "hypersim",
        root: ROOT,
        art,
        estimator,
        out: join(dir, out),
        sizes: SIZES,
        levels: 3,
        limit: LIMIT,
        seed,
        progress: quiet,
      });
    const flat = await run(standIn("flat", known, truth), "flat");
    const records = async (out: string): Promise<ProbeRecord[]> =>
      (await Deno.readTextFile(join(dir, out, "probe.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(flat.trials, LIMIT * 4 * SIZES.length);
    for (const r of await records("flat")) {
      assert.equal(r.fooled, false);
      assert.ok(r.flatnessError <= 1e-6, `${r.frame} ${r.size}: ${r.flatnessError}`);
      assert.ok(r.absRel !== null && r.absRel <= 1e-6);
    }
    assert.ok(flat.cells.every((c) => c.fooledRate === 0 && c.trials === LIMIT));
    // "Before" is read on the frame without the paste, where the region caught furniture and edges.
    assert.ok(flat.cells.some((c) => c.meanFlatnessErrorBefore! > 1e-3));

    const fooled = await run(standIn("fooled", known, luminanceInside), "fooled");
    const fooledRecords = await records("fooled");
    const onArt = fooledRecords.filter((r) => r.level > 0),
      onBlank = fooledRecords.filter((r) => r.level === 0);
    assert.ok(onArt.every((r) => r.fooled && r.flatnessError > 0.02));
    assert.ok(fooled.cells.every((c) => c.level === 0 || c.fooledRate === 1));
    // On the blank canvas only a border can give the picture's "own depth" any relief.
    assert.ok(onBlank.every((r) => r.art === BLANK_NAME));
    const mean = (rs: ProbeRecord[]) => rs.reduce((a, r) => a + r.flatnessError, 0) / rs.length;
    assert.ok(mean(onBlank) < mean(onArt), `blank ${mean(onBlank)} vs art ${mean(onArt)}`);

    const again = await run(standIn("fooled", known, luminanceInside), "again");
    assert.equal(
      withoutTimes(await Deno.readTextFile(join(dir, "again", "probe.jsonl"))),
      withoutTimes(await Deno.readTextFile(join(dir, "fooled", "probe.jsonl"))),
    );
    assert.deepEqual(again.cells, fooled.cells);

    const chart = decodePng(await Deno.readFile(join(dir, "fooled", "probe.png")), "probe.png");
    assert.equal(chart.width, 2 * PROBE_CHART.width + PROBE_CHART.gap);
    assert.equal(chart.height, PROBE_CHART.height);
    const report = await Deno.readTextFile(join(dir, "fooled", "report.md"));
    assert.match(report, /!\[[^\]]*\]\(probe\.png\)/);
    for (const level of levels) assert.ok(report.includes(level.name), level.name);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probe: a frame that cannot be read is a reject and the others go on", async () => {
  const art = await loadArt(ART, unused);
  const known = await pastes(probeLevels(art, 3), 2);
  const dir = await Deno.makeTempDir();
  try {
    const [first] = await frames();
    const missing = "ai_900_009/images/scene_cam_00_final_preview/frame.0000.tonemap.jpg";
    const split = join(dir, "split.txt");
    await Deno.writeTextFile(
      split,
      `${first.ref.rgb} ${first.ref.depth}\n${missing} ${
        missing.replace("final_preview", "geometry_hdf5")
      }\n`,
    );
    const summary = await runProbe({
      dataset: "hypersim",
      root: ROOT,
      split,
      art,
      estimator: standIn("flat", known, truth),
      out: dir,
      sizes: SIZES,
      levels: 3,
      seed: 2,
      progress: quiet,
    });
    assert.deepEqual(summary.frames, { listed: 2, probed: 1, failed: 1 });
    assert.equal(summary.trials, 4 * SIZES.length);
    const rejects = (await Deno.readTextFile(join(dir, "rejects.jsonl"))).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].id, missing);
    assert.equal(rejects[0].stage, "read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("probe: bad art folders and settings are refused naming what is wrong", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadArt(join(dir, "missing"), unused),
      (e) => e instanceof TrompeError && e.code === "not-found" && e.subject === join(dir, "missing"),
    );
    await assert.rejects(
      loadArt(dir, unused),
      (e) => e instanceof TrompeError && e.subject === dir && /no JPEG\/PNG pictures/.test(e.message),
    );
    const two: ArtSet = { ...(await loadArt(ART, unused)), dir: "two-pieces" };
    const small = { ...two, pieces: two.pieces.slice(0, 2) };
    assert.throws(() => artLevels(small, 3), (e) => e instanceof TrompeError && e.subject === "two-pieces");
    await assert.rejects(
      runProbe({
        dataset: "hypersim",
        root: ROOT,
        art: two,
        estimator: unused,
        out: dir,
        sizes: [0.5, 0.95],
        progress: quiet,
      }),
      (e) => e instanceof TrompeError && e.subject === "--sizes" && /0\.95/.test(e.message),
    );
    await assert.rejects(
      runProbe({ dataset: "hypersim", root: dir, art: two, estimator: unused, out: dir, progress: quiet }),
      (e) => e instanceof TrompeError && e.code === "not-found" && e.subject === dir,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
