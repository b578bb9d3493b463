import assert from "node:assert/strict";
import {
  ART,
  fitInversePlane,
  flatRegions,
  labelRegions,
  MIRROR,
  NEGATIVE,
  summarizeFlat,
} from "../../core/eval/flat.ts";

const W = 64;
const H = 48;

/** Depth of the 3D plane n·X = d seen by a pinhole camera (f, centred principal point) at every pixel. */
function planeDepth(n: [number, number, number], d: number, f = 50): Float64Array {
  const out = new Float64Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const ray = [(x + 0.5 - W / 2) / f, (y + 0.5 - H / 2) / f, 1];
      out[y * W + x] = d / (n[0] * ray[0] + n[1] * ray[1] + n[2] * ray[2]);
    }
  }
  return out;
}

/** A rectangle of `label` in an otherwise empty mask. */
function rect(
  label: number,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  into: Uint8Array = new Uint8Array(W * H),
): Uint8Array {
  for (let y = y0; y < y1; y++) into.fill(label, y * W + x0, y * W + x1);
  return into;
}

/** `depth` with a Gaussian bump of relative height `amp` centred on (cx, cy). */
function bumped(depth: Float64Array, amp: number, cx = 32, cy = 24, sigma = 6): Float64Array {
  return depth.map((z, p) => {
    const dx = (p % W) - cx;
    const dy = Math.floor(p / W) - cy;
    return z * (1 - amp * Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)));
  });
}

const allValid = new Uint8Array(W * H).fill(1);

Deno.test("an exact plane in inverse depth has zero flatness error", () => {
  const idx = Int32Array.from({ length: W * H }, (_, i) => i);
  const inv = Float64Array.from(idx, (p) => 0.1 + 0.001 * (p % W) - 0.0015 * Math.floor(p / W));
  assert.ok(fitInversePlane(inv, idx, W).error < 1e-12);
});

Deno.test("a perspective-correct tilted 3D plane is flat; a bump is not, growing with its height", () => {
  const plane = planeDepth([0.3, -0.2, 0.93], 3);
  const labels = rect(ART, 10, 8, 50, 40);
  const [flat] = flatRegions(plane, plane, allValid, labels, W, H);
  assert.ok(flat.flatnessError < 1e-12, `plane error ${flat.flatnessError}`);
  assert.equal(flat.fooled, false);
  assert.equal(flat.absRel, 0);
  let previous = flat.flatnessError;
  for (const amp of [0.01, 0.05, 0.2]) {
    const [r] = flatRegions(bumped(plane, amp), plane, allValid, labels, W, H);
    assert.ok(r.flatnessError > previous, `amp ${amp}: ${r.flatnessError}`);
    previous = r.flatnessError;
  }
  const [big] = flatRegions(bumped(plane, 0.2), plane, allValid, labels, W, H);
  assert.equal(big.fooled, true);
});

Deno.test("disparity predictions (affine in inverse depth) are fitted directly", () => {
  const plane = planeDepth([0, 0.4, 0.9], 2);
  const disparity = plane.map((z) => 5 / z + 0.3); // relative head: scale and shift of inverse depth
  const [r] = flatRegions(disparity, plane, allValid, rect(MIRROR, 0, 0, W, H), W, H, { kind: "disparity" });
  assert.ok(r.flatnessError < 1e-12);
  assert.equal(r.absRel, null);
});

Deno.test("region abs_rel is measured against the flat ground truth", () => {
  const plane = planeDepth([0, 0, 1], 4);
  const [r] = flatRegions(plane.map((z) => 1.1 * z), plane, allValid, rect(MIRROR, 5, 5, 30, 30), W, H);
  assert.ok(Math.abs((r.absRel as number) - 0.1) < 1e-12);
});

Deno.test("separate regions are fitted apart; specks are ignored", () => {
  const labels = rect(MIRROR, 2, 2, 20, 20);
  rect(MIRROR, 40, 10, 60, 30, labels);
  rect(ART, 30, 40, 32, 42, labels); // 4 pixels: a speck
  assert.equal(labelRegions(labels, W, H).length, 3);
  // Two different planes, one per region: each is flat on its own.
  const a = planeDepth([0.2, 0, 1], 2);
  const b = planeDepth([-0.3, 0.1, 1], 5);
  const pred = a.map((z, p) => (p % W >= 40 ? b[p] : z));
  const regions = flatRegions(pred, pred, allValid, labels, W, H);
  assert.equal(regions.length, 2);
  for (const r of regions) assert.ok(r.flatnessError < 1e-12);
});

Deno.test("false-flat rate counts negatives the model flattens over real, non-planar depth", () => {
  const wall = planeDepth([0, 0, 1], 3);
  const curved = bumped(wall, 0.3);
  const labels = rect(NEGATIVE, 16, 8, 48, 40);
  const flattened = flatRegions(wall, curved, allValid, labels, W, H); // model sees a plane: false flat
  const faithful = flatRegions(curved, curved, allValid, labels, W, H); // model keeps the bump
  const unjudgeable = flatRegions(wall, wall, allValid, labels, W, H); // ground truth is flat itself
  const summary = summarizeFlat([...flattened, ...faithful, ...unjudgeable]);
  assert.equal(summary.negatives, 2);
  assert.equal(summary.falseFlatRate, 0.5);
  assert.equal(summary.pasted, 0);
  assert.equal(summary.fooledRate, null);
});
