import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type DepthFrame, fillDepth, type Region } from "../../core/augment/depth_fill.ts";

const W = 64, H = 48;
const K = { fx: 60, fy: 60, cx: (W - 1) / 2, cy: (H - 1) / 2 };

/** A tilted wall 1/Z = a u + b v + c, with a box nearer the camera at `box` (depth `boxZ`). */
function wall(box?: [number, number, number, number], boxZ = 1): DepthFrame {
  const depth = new Float32Array(W * H), valid = new Uint8Array(W * H).fill(1);
  for (let v = 0; v < H; v++) {
    for (let u = 0; u < W; u++) {
      let z = 1 / (0.002 * u - 0.001 * v + 0.2);
      if (box && u >= box[0] && u < box[2] && v >= box[1] && v < box[3]) z = boxZ;
      depth[v * W + u] = z;
    }
  }
  return { depth, valid, width: W, height: H, intrinsics: K };
}

function rect(x0: number, y0: number, x1: number, y1: number): Region {
  const mask = new Uint8Array(W * H);
  for (let v = y0; v < y1; v++) for (let u = x0; u < x1; u++) mask[v * W + u] = 1;
  return { mask, box: [x0, y0, x1, y1], corners: [[x0, y0], [x1 - 1, y0], [x1 - 1, y1 - 1], [x0, y1 - 1]] };
}

/** Largest relative residual of 1/Z inside the region against the least-squares affine fit in (u, v). */
function affineResidual(frame: DepthFrame, region: Region): number {
  const rows: number[][] = [], rhs: number[] = [];
  for (let k = 0; k < W * H; k++) {
    if (!region.mask[k]) continue;
    rows.push([k % W, Math.floor(k / W), 1]);
    rhs.push(1 / frame.depth[k]);
  }
  // Normal equations in float64 (3×3) are exact enough for a residual check at 1e-6.
  const ata = [0, 0, 0, 0, 0, 0, 0, 0, 0], atb = [0, 0, 0];
  rows.forEach((r, i) => {
    for (let p = 0; p < 3; p++) {
      atb[p] += r[p] * rhs[i];
      for (let q = 0; q < 3; q++) ata[p * 3 + q] += r[p] * r[q];
    }
  });
  const x = solve3(ata, atb);
  return Math.max(...rows.map((r, i) => Math.abs(r[0] * x[0] + r[1] * x[1] + x[2] - rhs[i]) / rhs[i]));
}

function solve3(a: number[], b: number[]): number[] {
  const m = [0, 1, 2].map((r) => [a[r * 3], a[r * 3 + 1], a[r * 3 + 2], b[r]]);
  for (let c = 0; c < 3; c++) {
    const p = m.slice(c).reduce((best, row, i) => Math.abs(row[c]) > Math.abs(m[best][c]) ? c + i : best, c);
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let q = c; q < 4; q++) m[r][q] -= f * m[c][q];
    }
  }
  return m.map((row, i) => row[3] / row[i]);
}

Deno.test("plane mode recovers the wall: inverse depth affine in (u, v), outside untouched", () => {
  // A box in front of the wall inside the region: the wall plane must be fitted from the ring, not the box.
  const frame = wall([24, 18, 36, 28], 2.5);
  const before = frame.depth.slice();
  const region = rect(20, 14, 44, 34);
  const rec = fillDepth(frame, region, "plane", { ring: 4 });
  assertEquals(rec.mode, "plane");
  assert(affineResidual(frame, region) < 1e-6, `residual ${affineResidual(frame, region)}`);
  for (let k = 0; k < W * H; k++) if (!region.mask[k]) assertEquals(frame.depth[k], before[k]);
  // The box (2.5 m) is nearer than the wall (≈ 4–6 m), so the plane was pushed in front of it — out of the
  // surround's depth band, which the record flags for placement to refuse (no constant would fit either).
  assert(rec.pushed! > 1);
  assert(rec.implausible?.includes("leaves the surround's band"), String(rec.implausible));
  for (let k = 0; k < W * H; k++) if (region.mask[k]) assert(frame.depth[k] <= before[k], `behind at ${k}`);
});

Deno.test("plane mode keeps the wall itself when nothing covered is in front", () => {
  const frame = wall();
  const before = frame.depth.slice();
  const region = rect(10, 10, 30, 30);
  const rec = fillDepth(frame, region, "plane", { ring: 3 });
  // Fitted to float precision: moved forward at most by the safety hair against float32 rounding.
  assert(rec.pushed! < 1 + 1e-5, `${rec.pushed}`);
  for (let k = 0; k < W * H; k++) {
    if (region.mask[k]) assert(Math.abs(frame.depth[k] - before[k]) / before[k] < 1e-5);
  }
});

Deno.test("plane fit ignores furniture in the ring", () => {
  // A chair (nearer box) overlapping part of the ring must not tilt the wall.
  const frame = wall([8, 37, 30, 46], 1.2);
  const before = wall();
  const region = rect(16, 12, 44, 36);
  fillDepth(frame, region, "plane", { ring: 5 });
  for (let k = 0; k < W * H; k++) {
    if (region.mask[k]) {
      assert(Math.abs(frame.depth[k] - before.depth[k]) / before.depth[k] < 1e-4, `at ${k}`);
    }
  }
});

Deno.test("seed mode: a linear gradient from the deepest corner to the nearest corner depth", () => {
  const frame = wall();
  const region = rect(10, 10, 30, 30);
  const cornerDepth = region.corners.map(([u, v]) => frame.depth[v * W + u]);
  const rec = fillDepth(frame, region, "seed", { ring: 3 });
  const far = Math.max(...cornerDepth), near = Math.min(...cornerDepth);
  const deepest = cornerDepth.indexOf(far);
  assertEquals(rec.seed, { corner: deepest, far, near });
  const [cu, cv] = region.corners[deepest], [ou, ov] = region.corners[(deepest + 2) % 4];
  assert(Math.abs(frame.depth[cv * W + cu] - far) < 1e-6);
  assert(Math.abs(frame.depth[ov * W + ou] - near) < 1e-6);
  // Halfway along the diagonal, halfway in depth.
  const mid = frame.depth[((cv + ov) / 2 | 0) * W + ((cu + ou) / 2 | 0)];
  assert(Math.abs(mid - (far + near) / 2) < 0.05 * (far - near), `${mid}`);
});

Deno.test("constant mode: fronto-parallel and never behind covered content", () => {
  const frame = wall([20, 20, 24, 24], 3);
  const region = rect(16, 16, 30, 30);
  const rec = fillDepth(frame, region, "constant", { ring: 3 });
  assertEquals(rec.depth, 3);
  for (let k = 0; k < W * H; k++) if (region.mask[k]) assertEquals(frame.depth[k], 3);
});

Deno.test("plane mode falls back to constant without a valid ring, and fills invalid covered pixels", () => {
  const frame = wall();
  frame.valid.fill(0);
  const region = rect(16, 16, 30, 30);
  const rec = fillDepth(frame, region, "plane", { ring: 3 });
  assertEquals(rec.mode, "constant");
  assert(rec.fallback);
  for (let k = 0; k < W * H; k++) if (region.mask[k]) assertEquals(frame.valid[k], 1);
});
