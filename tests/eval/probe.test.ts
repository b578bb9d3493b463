import assert from "node:assert/strict";
import { join } from "node:path";
import { adapterFor } from "../../core/data/adapters.ts";
import { MASK } from "../../core/augment/sample_augment.ts";
import type { DepthEstimator } from "../../core/nn/estimator.ts";
import {
  pasteArt,
  type ProbeRecord,
  type ProbeSummary,
  runProbe,
  warpArtInverseDepth,
} from "../../core/eval/probe.ts";
import {
  type ArtLevel,
  artLevels,
  type ArtPiece,
  type ArtSet,
  BLANK_NAME,
  blankLevel,
  loadArt,
  probeLevels,
} from "../../core/eval/probe_art.ts";
import { labelRegions } from "../../core/eval/flat.ts";
import type { RasterU8 } from "../../core/io/raster.ts";
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
      (e) =>
        e instanceof TrompeError && e.code === "empty" && e.subject === dir &&
        /holds no JPEG or PNG/.test(e.message),
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

/** The frame's truth, except inside the picture of an art paste: the picture's own depth, warped (a fooled model). */
async function seeingPictures(levels: readonly ArtLevel[], seed: number, sizes: readonly number[]) {
  const known = new Map<string, KnownFrame & { answer?: Float32Array }>();
  for (const { ref, sample } of await frames()) {
    known.set(ref.rgb, { ...sample, mask: null });
    for (const level of levels) {
      for (const size of sizes) {
        const p = await pasteArt(sample, `${ref.rgb}#0`, level, size, seed);
        const piece = level.pieces.find((x) => x.name === p.art)!;
        let answer: Float32Array | undefined;
        if (piece.depth) {
          answer = p.depth.slice();
          for (const region of labelRegions(p.mask, sample.width, sample.height)) {
            const inv = warpArtInverseDepth(piece, p.region, region.pixels, sample.width);
            region.pixels.forEach((px, k) => {
              if (Number.isFinite(inv[k])) answer![px] = 1 / inv[k];
            });
          }
        }
        known.set(`${ref.rgb} ${level.index} ${size}`, {
          ...p,
          width: sample.width,
          height: sample.height,
          answer,
        });
      }
    }
  }
  return known;
}

const records = async (out: string): Promise<ProbeRecord[]> =>
  (await Deno.readTextFile(join(out, "probe.jsonl"))).trim().split("\n").map((l) => JSON.parse(l));

Deno.test("probe: a model that sees the picture's own depth follows it, the blank in the same pose does not", async () => {
  const art = await loadArt(ART, unused);
  const levels = probeLevels(art, 3);
  const sizes = [0.02, 0.25];
  const known = await seeingPictures(levels, 9, sizes);
  const dir = await Deno.makeTempDir();
  try {
    const estimator = standIn(
      "sees pictures",
      known,
      (f) => (f as { answer?: Float32Array }).answer ?? f.depth,
    );
    const summary: ProbeSummary = await runProbe({
      dataset: "hypersim",
      root: ROOT,
      art,
      estimator,
      out: dir,
      sizes,
      levels: 3,
      limit: LIMIT,
      seed: 9,
      progress: quiet,
    });
    const all = await records(dir);
    assert.equal(
      all.length,
      LIMIT * 4 * sizes.length,
      "one blank per frame and size: all pieces share a size",
    );
    const onArt = all.filter((r) => r.level > 0), onBlank = all.filter((r) => r.level === 0);
    for (const r of onArt) {
      assert.equal(r.paired, true, `${r.frame} ${r.level} ${r.size}`);
      const blank = onBlank.find((b) => b.frame === r.frame && b.size === r.size)!;
      assert.deepEqual(blank.pose, r.pose, "the blank lands in the art's pose");
      assert.ok(r.followsArt! > 0.99, `${r.frame} ${r.level} ${r.size}: followsArt ${r.followsArt}`);
      assert.ok(r.artRelief! > 1e-3);
      assert.equal(r.blankFollowsArt, 0, "the blank's prediction is the flat truth: it follows nothing");
      assert.equal(r.fooled, true);
      assert.equal(r.fooledByArt, true);
    }
    for (const r of onBlank) {
      assert.equal(r.followsArt, null);
      assert.equal(r.fooled, false);
      assert.equal(r.paired, true);
    }
    assert.ok(summary.paired!.every((c) => c.pairs === LIMIT && c.unpaired === 0));
    assert.ok(summary.paired!.every((c) => c.verdictDiff!.mean === 1 && c.meanFollowsArt! > 0.99));
    const c = summary.criteria!;
    assert.equal(c.verdict, "flatness and follows");
    assert.equal(c.large.pairs, LIMIT * 3);
    assert.equal(c.large.fooledExcess.value, 1);
    assert.ok(c.large.flatnessRatio.value! > 100, `${c.large.flatnessRatio.value}`);
    assert.equal(c.fooledBeyondBlank, true);
    assert.equal(c.small.fooledRate.value, 1, "this stand-in is fooled by small pastes too");
    assert.equal(c.met, false);
    const report = await Deno.readTextFile(join(dir, "report.md"));
    assert.match(report, /\*\*Fooled beyond the blank: yes\*\*/);
    assert.match(report, /\| small: art's fooled rate \| 100\.0 % \(blank 0\.0 %\) \| ≤ 10\.0 % \| no \|/);
    const written = JSON.parse(await Deno.readTextFile(join(dir, "summary.json")));
    assert.equal(written.criteria.fooledBeyondBlank, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The left `width` columns of a piece (its picture and its depth): another aspect ratio. */
function cropPiece(piece: ArtPiece, width: number): ArtPiece {
  const { rgb } = piece, h = rgb.height;
  const crop = <T extends Uint8Array | Float32Array>(a: T, c: number): T => {
    const out = new (a.constructor as new (n: number) => T)(width * h * c);
    for (let y = 0; y < h; y++) {
      out.set(a.subarray(y * rgb.width * c, (y * rgb.width + width) * c), y * width * c);
    }
    return out;
  };
  const cropped: RasterU8 = { width, height: h, channels: 3, data: crop(rgb.data, 3) };
  return {
    ...piece,
    name: `${piece.name} (left ${width})`,
    rgb: cropped,
    depth: crop(piece.depth!, 1),
    valid: crop(piece.valid!, 1),
  };
}

/** Depth from luminance everywhere: any frame, no lookup. */
const lumaModel: DepthEstimator = {
  name: "luma",
  kind: "depth",
  predict(rgb) {
    const n = rgb.width * rgb.height;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = 1 +
        (4 * (0.299 * rgb.data[3 * i] + 0.587 * rgb.data[3 * i + 1] + 0.114 * rgb.data[3 * i + 2])) / 255;
    }
    return Promise.resolve({ data, width: rgb.width, height: rgb.height });
  },
};

Deno.test("probe: the blank takes each picture's aspect ratio, so it lands in the art's pose (a square one does not)", async () => {
  const loaded = await loadArt(ART, unused);
  // Half the pieces cut to another aspect ratio.
  const art: ArtSet = { ...loaded, pieces: loaded.pieces.map((p, i) => (i % 2 ? cropPiece(p, 180) : p)) };
  const levels = probeLevels(art, 2);
  let squareDiffers = 0;
  for (const { ref, sample } of await frames()) {
    for (const size of [0.05, 0.2]) {
      for (const level of levels.slice(1)) {
        const trial = `${ref.rgb}#0`;
        const a = await pasteArt(sample, trial, level, size, 3);
        const piece = level.pieces.find((p) => p.name === a.art)!;
        const matched = await pasteArt(sample, trial, blankLevel(piece.rgb.width, piece.rgb.height), size, 3);
        assert.deepEqual(matched.region.placement, a.region.placement);
        assert.deepEqual(matched.region.shape, a.region.shape);
        assert.deepEqual(matched.mask, a.mask, "the same pixels are scored");
        const square = await pasteArt(sample, trial, blankLevel(), size, 3);
        if (JSON.stringify(square.region.placement) !== JSON.stringify(a.region.placement)) squareDiffers++;
      }
    }
  }
  assert.ok(squareDiffers > 0, "the old 16×16 blank is not in the art's pose");

  const dir = await Deno.makeTempDir();
  try {
    const sizes = [0.05, 0.2];
    const summary = await runProbe({
      dataset: "hypersim",
      root: ROOT,
      art,
      estimator: lumaModel,
      out: dir,
      sizes,
      levels: 2,
      repeats: 2,
      limit: LIMIT,
      seed: 3,
      progress: quiet,
    });
    const all = await records(dir);
    const onArt = all.filter((r) => r.level > 0);
    assert.equal(onArt.length, LIMIT * 2 * 2 * sizes.length);
    assert.ok(onArt.every((r) => r.paired), "every art paste has its blank");
    assert.ok(onArt.every((r) => r.followsArt !== null && r.blankFollowsArt !== null));
    for (const frame of new Set(all.map((r) => r.frame))) {
      for (const repeat of [0, 1]) {
        for (const size of sizes) {
          const mine = all.filter((r) => r.frame === frame && r.repeat === repeat && r.size === size);
          const aspects = new Set(mine.filter((r) => r.level > 0).map((r) => r.aspect));
          const blanks = mine.filter((r) => r.level === 0);
          assert.equal(blanks.length, aspects.size, "one blank per aspect ratio pasted");
          assert.deepEqual(new Set(blanks.map((r) => r.aspect)), aspects);
        }
      }
    }
    assert.ok(summary.paired!.every((c) => c.unpaired === 0 && c.pairs === LIMIT * 2));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
