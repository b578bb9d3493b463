import assert from "node:assert/strict";
import { followsPicture, PLANE_RELIEF } from "../../core/eval/flat.ts";
import { type Pose, probeCells, type ProbeRecord, type ProbeSummary } from "../../core/eval/probe.ts";
import {
  meanInterval,
  pairedCells,
  pairTrials,
  probeCriteria,
  tQuantile975,
} from "../../core/eval/probe_paired.ts";
import { probeReport } from "../../core/eval/probe_report.ts";
import { Rng } from "../../core/rng.ts";

const close = (a: number | null | undefined, b: number, tol: number, what: string) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

const pose = (x: number): Pose => ({
  yaw: 3,
  pitch: -2,
  roll: 1,
  centre: [x, 40],
  width: 50,
  height: 30,
  border: 2,
});

function record(o: Partial<ProbeRecord> & Pick<ProbeRecord, "frame" | "level" | "size">): ProbeRecord {
  return {
    repeat: 0,
    area: o.size,
    art: o.level === 0 ? "blank canvas" : "a.jpg",
    artDepthRatio: 2,
    flatnessError: 0,
    fooled: false,
    absRel: null,
    flatnessErrorBefore: 0,
    seconds: 0,
    pose: pose(100),
    followsArt: null,
    blankFollowsArt: null,
    ...o,
  };
}

/**
 * Three large pairs (frames a, b, c at 20 %), two small pairs (frames a, b at 1 %), and two art pastes that
 * must stay unpaired: one whose pose differs from its frame's blank, one on a frame with no blank at all.
 */
function handMade(): ProbeRecord[] {
  const large = [
    // frame, art error, blank error, art fooled, blank fooled, followsArt, blankFollowsArt
    ["a", 0.10, 0.04, true, true, 0.9, 0.6],
    ["b", 0.06, 0.05, true, true, 0.2, 0.1],
    ["c", 0.05, 0.03, true, true, 0.8, 0.0],
  ] as const;
  const out: ProbeRecord[] = [];
  for (const [frame, ae, be, af, bf, fa, bfa] of large) {
    out.push(record({ frame, level: 0, size: 0.2, flatnessError: be, fooled: bf }));
    out.push(record({
      frame,
      level: 1,
      size: 0.2,
      flatnessError: ae,
      fooled: af,
      followsArt: fa,
      blankFollowsArt: bfa,
    }));
  }
  for (const frame of ["a", "b"]) {
    out.push(record({ frame, level: 0, size: 0.01, flatnessError: 0.012, fooled: false }));
    out.push(record({
      frame,
      level: 1,
      size: 0.01,
      flatnessError: 0.01,
      fooled: false,
      followsArt: 0.1,
      blankFollowsArt: 0,
    }));
  }
  out.push(
    record({ frame: "a", level: 1, size: 0.2, repeat: 0, pose: pose(101), flatnessError: 0.5, fooled: true }),
  );
  out.push(record({ frame: "z", level: 1, size: 0.2, flatnessError: 0.5, fooled: true }));
  return out;
}

Deno.test("probe pairs: art against the blank in the identical pose, by hand", () => {
  const records = handMade();
  const { pairs, unpaired } = pairTrials(records);
  assert.equal(pairs.length, 5);
  assert.deepEqual(unpaired.map((r) => r.frame).sort(), ["a", "z"]);
  const cells = pairedCells(records, 2, [0.01, 0.2], 0.5);
  const large = cells.find((c) => c.size === 0.2)!;
  assert.equal(large.pairs, 3);
  assert.equal(large.unpaired, 2);
  // By hand: differences 0.06, 0.01, 0.02 → mean 0.03; deviations 0.03, −0.02, −0.01 → sample variance
  // (9 + 4 + 1)e−4 / 2 = 7e−4, sd 0.0264575; t(0.975, 2) = 4.303; half-width 4.303 · 0.0264575 / √3 = 0.0657296.
  close(large.flatnessDiff!.mean, 0.03, 1e-12, "mean difference");
  close(large.flatnessDiff!.low, 0.03 - 0.0657296, 1e-6, "low");
  close(large.flatnessDiff!.high, 0.03 + 0.0657296, 1e-6, "high");
  close(large.meanArtFlatnessError, 0.07, 1e-12, "art mean");
  close(large.meanBlankFlatnessError, 0.04, 1e-12, "blank mean");
  close(large.flatnessRatio, 1.75, 1e-12, "ratio");
  // Flatness alone: every paste on both sides is above 2 %, so no difference.
  assert.deepEqual(large.fooledDiff, { mean: 0, low: 0, high: 0, n: 3 });
  // With followsArt ≥ 0.5: art fooled on a and c, not b (0.2); the blank "follows" a's picture by chance
  // (0.6), not b's or c's → differences 0, 0, 1 → +1/3; sd √(1/3), half-width 4.303 · √(1/3) / √3 = 1.4343.
  close(large.verdictDiff!.mean, 1 / 3, 1e-12, "verdict difference");
  close(large.verdictDiff!.high, 1 / 3 + 4.303 / 3, 1e-9, "verdict high");
  close(large.artVerdictRate, 2 / 3, 1e-12, "art rate");
  close(large.blankVerdictRate, 1 / 3, 1e-12, "blank rate");
  close(large.meanFollowsArt, (0.9 + 0.2 + 0.8) / 3, 1e-12, "followsArt");
  close(large.meanBlankFollowsArt, 0.7 / 3, 1e-12, "blank followsArt");
  const small = cells.find((c) => c.size === 0.01)!;
  assert.equal(small.pairs, 2);
  close(small.flatnessDiff!.mean, -0.002, 1e-12, "small difference");
  assert.equal(small.flatnessDiff!.low, small.flatnessDiff!.high, "no spread: zero-width interval");

  const criteria = probeCriteria(records, [0.01, 0.2], 0.02, 0.5);
  assert.equal(criteria.verdict, "flatness and follows");
  assert.deepEqual(criteria.large.sizes, [0.2]);
  assert.deepEqual(criteria.small.sizes, [0.01]);
  close(criteria.large.flatnessRatio.value, 1.75, 1e-12, "criteria ratio");
  assert.equal(criteria.large.flatnessRatio.met, false, "1.75× is short of 2×");
  // Medians: art 0.06 (of 0.10, 0.06, 0.05), blank 0.04 (of 0.04, 0.05, 0.03) → 1.5.
  close(criteria.large.medianFlatnessRatio, 1.5, 1e-12, "ratio of medians");
  close(criteria.large.fooledExcess.value, 1 / 3, 1e-12, "criteria excess");
  assert.equal(criteria.large.fooledExcess.met, true, "+33 points reaches +30");
  assert.equal(criteria.small.fooledRate.value, 0);
  assert.equal(criteria.small.fooledRate.met, true);
  assert.equal(criteria.fooledBeyondBlank, false);
  assert.equal(criteria.met, false);

  // The same records without followsArt fall back to flatness alone.
  const plain = probeCriteria(records.map((r) => ({ ...r, followsArt: null })), [0.01, 0.2], 0.02, 0.5);
  assert.equal(plain.verdict, "flatness");
  assert.equal(plain.large.fooledExcess.value, 0);
  assert.equal(plain.large.fooledExcess.met, false);
});

Deno.test("probe pairs: t quantiles and intervals", () => {
  close(tQuantile975(1), 12.706, 1e-9, "df 1");
  close(tQuantile975(30), 2.042, 1e-9, "df 30");
  // Beyond the table, against published values.
  close(tQuantile975(40), 2.0211, 2e-4, "df 40");
  close(tQuantile975(60), 2.0003, 2e-4, "df 60");
  close(tQuantile975(120), 1.9799, 2e-4, "df 120");
  assert.equal(meanInterval([]), null);
  assert.deepEqual(meanInterval([0.4]), { mean: 0.4, low: null, high: null, n: 1 });
  // 1, 2, 3, 4: mean 2.5, sd √(5/3), t(0.975, 3) = 3.182 → half-width 3.182 · 1.2909944 / 2 = 2.0539721.
  const i = meanInterval([1, 2, 3, 4])!;
  close(i.low, 2.5 - 2.0539721, 1e-6, "low");
  close(i.high, 2.5 + 2.0539721, 1e-6, "high");
});

/** Float64 reference, written out: plane fit by Cramer's rule, relative residuals, Pearson correlation. */
function reference(
  pred: number[],
  art: number[],
  idx: number[],
  width: number,
): { r: number; slope: number } {
  const residuals = (values: number[]) => {
    const n = idx.length;
    const u = idx.map((p) => p % width), v = idx.map((p) => Math.floor(p / width));
    let suu = 0, suv = 0, svv = 0, su = 0, sv = 0, sux = 0, svx = 0, sx = 0;
    for (let k = 0; k < n; k++) {
      suu += u[k] * u[k];
      suv += u[k] * v[k];
      svv += v[k] * v[k];
      su += u[k];
      sv += v[k];
      sux += u[k] * values[k];
      svx += v[k] * values[k];
      sx += values[k];
    }
    const det3 = (m: number[]) =>
      m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
      m[2] * (m[3] * m[7] - m[4] * m[6]);
    const m = [suu, suv, su, suv, svv, sv, su, sv, n];
    const d = det3(m);
    const a = det3([sux, suv, su, svx, svv, sv, sx, sv, n]) / d;
    const b = det3([suu, sux, su, suv, svx, sv, su, sx, n]) / d;
    const c = det3([suu, suv, sux, suv, svv, svx, su, sv, sx]) / d;
    return values.map((x, k) => (x - (a * u[k] + b * v[k] + c)) / (a * u[k] + b * v[k] + c));
  };
  const ep = residuals(pred), ea = residuals(art);
  const mp = ep.reduce((s, x) => s + x, 0) / ep.length, ma = ea.reduce((s, x) => s + x, 0) / ea.length;
  let cov = 0, vp = 0, va = 0;
  for (let k = 0; k < ep.length; k++) {
    cov += (ep[k] - mp) * (ea[k] - ma);
    vp += (ep[k] - mp) ** 2;
    va += (ea[k] - ma) ** 2;
  }
  return { r: cov / Math.sqrt(vp * va), slope: cov / va };
}

Deno.test("followsPicture: 1 for the picture's own depth, 0 for a plane or unrelated noise (float64 reference)", () => {
  const width = 64, height = 48;
  const idx: number[] = [];
  // A tilted quadrilateral-ish region: rows 6–41, columns shifting with the row.
  for (let y = 6; y < 42; y++) for (let x = 8 + (y >> 3); x < 54 - (y >> 4); x++) idx.push(y * width + x);
  const plane = (p: number) => 0.3 + 0.002 * (p % width) - 0.001 * Math.floor(p / width);
  // The picture: a near object (a bump of inverse depth) against a receding floor, on its wall plane.
  const relief = (p: number) => {
    const x = p % width, y = Math.floor(p / width);
    return 0.25 * Math.exp(-((x - 30) ** 2 + (y - 20) ** 2) / 60) + 0.05 * Math.sin(y / 3);
  };
  const art = idx.map((p) => plane(p) * (1 + relief(p)));
  const rng = Rng.derive(7, "followsPicture noise");
  const noise = idx.map(() => rng.uniform(-1, 1));

  const same = followsPicture(art, art, idx, width)!;
  close(same.correlation, 1, 1e-12, "same depth");
  close(same.slope, 1, 1e-12, "same depth slope");
  // Another wall, another scale: the relief is what counts.
  const moved = followsPicture(idx.map((p, k) => 3 * art[k] + 0.01 * (p % width)), art, idx, width)!;
  assert.ok(moved.correlation > 0.99, `${moved.correlation}`);
  const half = followsPicture(idx.map((p) => plane(p) * (1 + 0.5 * relief(p))), art, idx, width)!;
  assert.ok(half.correlation > 0.99, `${half.correlation}`);
  assert.ok(half.slope > 0.4 && half.slope < 0.6, `half the relief: slope ${half.slope}`);

  const flat = followsPicture(idx.map(plane), art, idx, width)!;
  assert.ok(flat.predRelief < PLANE_RELIEF);
  assert.equal(flat.correlation, 0);
  assert.equal(flat.slope, 0);
  const unrelated = followsPicture(idx.map((p, k) => plane(p) * (1 + 0.05 * noise[k])), art, idx, width)!;
  assert.ok(Math.abs(unrelated.correlation) < 0.1, `noise: ${unrelated.correlation}`);
  const ref = reference(idx.map((p, k) => plane(p) * (1 + 0.05 * noise[k])), art, idx, width);
  close(unrelated.correlation, ref.r, 1e-9, "noise against the reference");
  close(unrelated.slope, ref.slope, 1e-9, "noise slope against the reference");

  // A mixture: part picture, part noise, against the plain reference.
  const mixed = idx.map((p, k) => plane(p) * (1 + 0.3 * relief(p) + 0.05 * noise[k]));
  const got = followsPicture(mixed, art, idx, width)!;
  const want = reference(mixed, art, idx, width);
  close(got.correlation, want.r, 1e-9, "mixed correlation");
  close(got.slope, want.slope, 1e-9, "mixed slope");
  assert.ok(want.r > 0.3 && want.r < 0.99, `mixed is in between: ${want.r}`);

  // A flat picture cannot be followed; too few pixels cannot be judged.
  assert.equal(followsPicture(art, idx.map(plane), idx, width), null);
  assert.equal(followsPicture(art.slice(0, 10), art.slice(0, 10), idx.slice(0, 10), width), null);
  assert.equal(idx.length < width * height, true);
});

Deno.test("probe report: states each criterion with its value, target and verdict", () => {
  const records = handMade();
  const sizes = [0.01, 0.2];
  const summary: ProbeSummary = {
    model: "m",
    kind: "depth",
    dataset: "hypersim",
    root: "r",
    split: null,
    art: { dir: "art", kind: "vkitti2", pieces: 2, scoredBy: "ground truth" },
    levels: [
      { index: 0, name: "blank canvas (control)", depthRatio: [1, 1], pieces: ["blank canvas"] },
      { index: 1, name: "depth ×2–3", depthRatio: [2, 3], pieces: ["a.jpg"] },
    ],
    sizes,
    repeats: 1,
    seed: 0,
    threshold: 0.02,
    followThreshold: 0.5,
    frames: { listed: 3, probed: 3, failed: 0 },
    trials: records.length,
    cells: probeCells(records, 2, sizes),
    paired: pairedCells(records, 2, sizes, 0.5),
    criteria: probeCriteria(records, sizes, 0.02, 0.5),
    files: { records: "probe.jsonl", rejects: "rejects.jsonl", chart: "probe.png", report: "report.md" },
  };
  const report = probeReport(summary);
  assert.match(report, /## Fooled beyond the blank\? \(the study's criteria\)/);
  assert.match(
    report,
    /\| large: art's mean flatness error \/ the blank's \| 1\.75× \(art 0\.07, blank 0\.04; ratio of medians 1\.5×\) \| ≥ 2× \| no \|/,
  );
  assert.match(
    report,
    /\| large: art's fooled rate − the blank's \| \+33\.3 points \[[^\]]+\] \(art 66\.7 %, blank 33\.3 %\) \| ≥ \+30 points \| yes \|/,
  );
  assert.match(report, /\| small: art's fooled rate \| 0\.0 % \(blank 0\.0 %\) \| ≤ 10\.0 % \| yes \|/);
  assert.match(report, /\*\*Fooled beyond the blank: no\*\*/);
  assert.match(report, /All criteria met: no/);
  assert.match(report, /followsArt ≥ 0\.5/);
  assert.match(report, /## Art against the blank, pose by pose/);
  assert.match(
    report,
    /\| 20\.0 % \| 0\.03 \[-0\.0357, 0\.0957\]; \+33\.3 points \[[^\]]+\]; 0\.633 \/ 0\.233; 3 \(2 unpaired\) \|/,
  );
  assert.match(report, /\*\*followsArt\*\*: /);
});
