/**
 * New ground truth for a pasted region: the depth of the flat surface that is now there.
 *
 * - `plane` (default): the picture hangs on a wall, so its depth is the wall's plane, fitted in 3D to the
 *   ground truth in a ring around the region (back-projected with the intrinsics, RANSAC then total least
 *   squares, so a chair leg in the ring does not tilt the wall). A plane n·X = d seen through a pinhole has
 *   inverse depth affine in pixel coordinates, 1/Z = a·u + b·v + c, which is what is written. The surface must
 *   occlude what it covers, so where the plane would pass behind covered content it is moved towards the camera
 *   (inverse depth scaled by s ≥ 1: the same orientation, still a plane) until it is nowhere behind. That move
 *   is the last resort: placement first looks for a spot where the wall is already in front of everything the
 *   picture covers (`fitWall`, used by sample_augment's placeOnWall), and hands that wall to the fill.
 * - `seed`: the original study's "gradient of decreasing depth starting at the deepest corner of the region",
 *   "the nearest depth applied forward from the deepest corner". Our reading: of the four corners of the
 *   region's bounding quadrilateral, the deepest keeps its ground-truth depth, and depth falls linearly in image
 *   space along the diagonal to the opposite corner, reaching there the nearest of the four corner depths.
 *   It is not a plane (linear in Z, not 1/Z); it is kept so the study can be reproduced.
 * - `constant`: a fronto-parallel surface at the ring's median depth, moved forward to the nearest covered depth.
 *
 * Pixel coordinates are pixel indices (pixel (c, r) at u = c, v = r), the convention of the intrinsics.
 */
import type { Intrinsics } from "../data/sample.ts";
import type { Point } from "./homography.ts";
import { hash128, Rng } from "../rng.ts";

export type DepthMode = "plane" | "seed" | "constant";

/** Planar depth in metres (NaN or invalid where `valid` is 0), edited in place. */
export interface DepthFrame {
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
}

/** Pixels of the region (1) over a full frame, and the box [x0, x1) × [y0, y1) that holds them. */
export interface Region {
  readonly mask: Uint8Array;
  readonly box: readonly [number, number, number, number];
  /** Corners of the region's bounding quadrilateral in the image (for `seed`). */
  readonly corners: readonly Point[];
}

export interface FillRecord {
  readonly mode: DepthMode;
  /** Set when the requested mode could not be used and `constant` was, with the reason. */
  readonly fallback?: string;
  /** plane: inverse depth 1/Z = a·u + b·v + c (after any forward move). */
  readonly plane?: readonly [number, number, number];
  /** plane: how much the fitted plane's inverse depth was scaled to bring it in front (1 = not moved). */
  readonly pushed?: number;
  /** constant: the depth written. */
  readonly depth?: number;
  /** seed: index of the deepest corner and the depths at both ends of the gradient. */
  readonly seed?: { readonly corner: number; readonly far: number; readonly near: number };
}

export interface FillOptions {
  /** Ring width in pixels around the region used to fit the wall. */
  readonly ring: number;
  /**
   * plane: the wall's inverse depth (a, b, c) when already fitted — placement fits it around the outline to
   * choose where to hang the picture, and the fill must use that same wall, not a refit on the final region.
   */
  readonly wall?: readonly [number, number, number];
}

const MIN_RING_POINTS = 30;

export function fillDepth(frame: DepthFrame, region: Region, mode: DepthMode, opts: FillOptions): FillRecord {
  if (mode === "seed") return fillSeed(frame, region) ?? fillConstant(frame, region, opts, "no valid corner");
  if (mode === "constant") return fillConstant(frame, region, opts);
  let inv = opts.wall;
  if (!inv) {
    const ring = ringPoints(frame, region, opts.ring);
    if (ring.length / 3 < MIN_RING_POINTS) {
      return fillConstant(frame, region, opts, "too few valid ring pixels");
    }
    inv = fitInversePlane(ring, frame.intrinsics) ?? undefined;
    if (!inv) return fillConstant(frame, region, opts, "degenerate plane fit");
  }
  let push = planePush(frame, region, inv);
  if (push === null) return fillConstant(frame, region, opts, "plane passes behind the camera");
  // A hair more than needed so float32 rounding of the plane depth can never land behind the content.
  if (push > 1) push *= 1 + 1e-6;
  const [a, b, c] = inv;
  const plane: [number, number, number] = [a * push, b * push, c * push];
  forRegion(region, frame.width, (k, u, v) => {
    frame.depth[k] = 1 / (plane[0] * u + plane[1] * v + plane[2]);
    frame.valid[k] = 1;
  });
  return { mode, plane, pushed: push };
}

/**
 * The wall behind a region — the plane fitted to the ring around it, as inverse depth (a, b, c) — and how far
 * it would have to come forward to be in front of everything the region covers: the largest (plane depth /
 * covered depth) over the region, at least 1. Null when no wall can be fitted (too few ring pixels, a
 * degenerate fit, a plane behind the camera). Placement uses it to hang pictures where they cover nothing
 * nearer than their wall.
 */
export function fitWall(
  frame: DepthFrame,
  region: Region,
  ring: number,
): { plane: [number, number, number]; push: number } | null {
  const points = ringPoints(frame, region, ring);
  if (points.length / 3 < MIN_RING_POINTS) return null;
  const plane = fitInversePlane(points, frame.intrinsics);
  const push = plane && planePush(frame, region, plane);
  return plane && push !== null ? { plane, push } : null;
}

/** Largest ratio plane depth / covered depth = largest (1/Zgt) / (1/Zplane), at least 1; null if not in front. */
function planePush(frame: DepthFrame, region: Region, [a, b, c]: readonly number[]): number | null {
  let push = 1;
  let positive = true;
  forRegion(region, frame.width, (k, u, v) => {
    const ip = a * u + b * v + c;
    if (!(ip > 0)) positive = false;
    else if (frame.valid[k]) push = Math.max(push, 1 / frame.depth[k] / ip);
  });
  return positive ? push : null;
}

function forRegion(region: Region, width: number, fn: (k: number, u: number, v: number) => void): void {
  const [x0, y0, x1, y1] = region.box;
  for (let v = y0; v < y1; v++) {
    for (let u = x0; u < x1; u++) {
      const k = v * width + u;
      if (region.mask[k]) fn(k, u, v);
    }
  }
}

/** (u, v, Z) of valid pixels within `ring` pixels (square neighbourhood) of the region but not in it. */
export function ringPoints(frame: DepthFrame, region: Region, ring: number): Float64Array {
  const { width, height } = frame;
  const [bx0, by0, bx1, by1] = region.box;
  const x0 = Math.max(0, bx0 - ring), y0 = Math.max(0, by0 - ring);
  const x1 = Math.min(width, bx1 + ring), y1 = Math.min(height, by1 + ring);
  const w = x1 - x0, h = y1 - y0;
  // Summed-area table of the region: a pixel is in the dilation iff its window holds any region pixel.
  const sat = new Int32Array((w + 1) * (h + 1));
  for (let j = 0; j < h; j++) {
    let rowSum = 0;
    for (let i = 0; i < w; i++) {
      rowSum += region.mask[(y0 + j) * width + x0 + i];
      sat[(j + 1) * (w + 1) + i + 1] = sat[j * (w + 1) + i + 1] + rowSum;
    }
  }
  const out: number[] = [];
  for (let j = 0; j < h; j++) {
    const ja = Math.max(0, j - ring), jb = Math.min(h, j + ring + 1);
    for (let i = 0; i < w; i++) {
      const k = (y0 + j) * width + x0 + i;
      if (region.mask[k] || !frame.valid[k]) continue;
      const ia = Math.max(0, i - ring), ib = Math.min(w, i + ring + 1);
      const n = sat[jb * (w + 1) + ib] - sat[ja * (w + 1) + ib] - sat[jb * (w + 1) + ia] +
        sat[ja * (w + 1) + ia];
      if (n > 0) out.push(x0 + i, y0 + j, frame.depth[k]);
    }
  }
  return Float64Array.from(out);
}

/**
 * Fits a 3D plane to (u, v, Z) points and returns its inverse depth as (a, b, c), or null when degenerate.
 * Robust to furniture in the ring: RANSAC picks the plane most points agree with (within 1 % of their depth),
 * then total least squares refits it on those inliers. The hypotheses come from a fixed stream, so the fit is a
 * function of the points alone.
 */
export function fitInversePlane(points: Float64Array, k: Intrinsics): [number, number, number] | null {
  const n = points.length / 3;
  const xyz = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = points[3 * i], v = points[3 * i + 1], z = points[3 * i + 2];
    xyz[3 * i] = ((u - k.cx) / k.fx) * z;
    xyz[3 * i + 1] = ((v - k.cy) / k.fy) * z;
    xyz[3 * i + 2] = z;
  }
  const inliers = (plane: readonly number[], stride: number): Uint8Array => {
    const keep = new Uint8Array(n);
    for (let i = 0; i < n; i += stride) {
      const r = plane[0] * xyz[3 * i] + plane[1] * xyz[3 * i + 1] + plane[2] * xyz[3 * i + 2] - plane[3];
      if (Math.abs(r) <= INLIER * xyz[3 * i + 2]) keep[i] = 1;
    }
    return keep;
  };
  const count = (keep: Uint8Array) => keep.reduce((s, x) => s + x, 0);
  const rng = new Rng(hash128(`ransac ${n}`));
  const stride = Math.max(1, Math.floor(n / 2000));
  let best: number[] | null = null, bestCount = -1;
  for (let t = 0; t < HYPOTHESES; t++) {
    const plane = planeThrough(xyz, rng.int(0, n - 1), rng.int(0, n - 1), rng.int(0, n - 1));
    if (!plane) continue;
    const c = count(inliers(plane, stride));
    if (c > bestCount) (best = plane), (bestCount = c);
  }
  let plane = fitPlane3d(xyz, best ? inliers(best, 1) : new Uint8Array(n).fill(1));
  if (plane) plane = fitPlane3d(xyz, inliers(plane, 1)) ?? plane;
  if (!plane) return null;
  const [nx, ny, nz, d] = plane;
  // n·X = d with X = Z·((u − cx)/fx, (v − cy)/fy, 1)  ⇒  1/Z = (nx (u − cx)/fx + ny (v − cy)/fy + nz) / d.
  if (Math.abs(d) < 1e-9) return null;
  const a = nx / (k.fx * d), b = ny / (k.fy * d);
  return [a, b, (nz - (nx * k.cx) / k.fx - (ny * k.cy) / k.fy) / d];
}

const INLIER = 0.01;
const HYPOTHESES = 64;

function planeThrough(xyz: Float64Array, i: number, j: number, l: number): number[] | null {
  const p = [xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]];
  const e1 = [xyz[3 * j] - p[0], xyz[3 * j + 1] - p[1], xyz[3 * j + 2] - p[2]];
  const e2 = [xyz[3 * l] - p[0], xyz[3 * l + 1] - p[1], xyz[3 * l + 2] - p[2]];
  const nrm = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
  const len = Math.hypot(nrm[0], nrm[1], nrm[2]);
  if (!(len > 1e-12)) return null;
  const nx = nrm[0] / len, ny = nrm[1] / len, nz = nrm[2] / len;
  return [nx, ny, nz, nx * p[0] + ny * p[1] + nz * p[2]];
}

/** Total least squares plane (unit normal n, offset d: n·X = d) through the kept points. */
function fitPlane3d(xyz: Float64Array, keep: Uint8Array): [number, number, number, number] | null {
  let m = 0, sx = 0, sy = 0, sz = 0;
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i]) continue;
    m++, sx += xyz[3 * i], sy += xyz[3 * i + 1], sz += xyz[3 * i + 2];
  }
  if (m < 3) return null;
  const c = [sx / m, sy / m, sz / m];
  const cov = new Float64Array(9);
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i]) continue;
    const p = [xyz[3 * i] - c[0], xyz[3 * i + 1] - c[1], xyz[3 * i + 2] - c[2]];
    for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) cov[r * 3 + q] += p[r] * p[q];
  }
  const { values, vectors } = symmetricEigen3(cov);
  const order = [0, 1, 2].sort((i, j) => values[i] - values[j]);
  // A line of points (all three eigenvalues but one near zero) does not define a plane.
  if (values[order[1]] <= 1e-12 * Math.max(values[order[2]], 1e-300)) return null;
  const e = order[0];
  const n = [vectors[e], vectors[3 + e], vectors[6 + e]];
  return [n[0], n[1], n[2], n[0] * c[0] + n[1] * c[1] + n[2] * c[2]];
}

/** Cyclic Jacobi eigen-decomposition of a symmetric 3×3 matrix; eigenvectors are the columns. */
export function symmetricEigen3(m: Float64Array): { values: number[]; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-30 * (a[0] * a[0] + a[4] * a[4] + a[8] * a[8] + 1e-300)) break;
    for (const [p, q] of [[0, 1], [0, 2], [1, 2]]) {
      const apq = a[p * 3 + q];
      if (apq === 0) continue;
      const theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const cs = 1 / Math.sqrt(t * t + 1), sn = t * cs;
      for (let r = 0; r < 3; r++) {
        const arp = a[r * 3 + p], arq = a[r * 3 + q];
        a[r * 3 + p] = cs * arp - sn * arq;
        a[r * 3 + q] = sn * arp + cs * arq;
      }
      for (let r = 0; r < 3; r++) {
        const apr = a[p * 3 + r], aqr = a[q * 3 + r];
        a[p * 3 + r] = cs * apr - sn * aqr;
        a[q * 3 + r] = sn * apr + cs * aqr;
      }
      for (let r = 0; r < 3; r++) {
        const vrp = v[r * 3 + p], vrq = v[r * 3 + q];
        v[r * 3 + p] = cs * vrp - sn * vrq;
        v[r * 3 + q] = sn * vrp + cs * vrq;
      }
    }
  }
  return { values: [a[0], a[4], a[8]], vectors: v };
}

function fillConstant(frame: DepthFrame, region: Region, opts: FillOptions, fallback?: string): FillRecord {
  const ring = ringPoints(frame, region, opts.ring);
  const zs: number[] = [];
  for (let i = 2; i < ring.length; i += 3) zs.push(ring[i]);
  if (zs.length === 0) {
    for (let k = 0; k < frame.depth.length; k++) if (frame.valid[k]) zs.push(frame.depth[k]);
  }
  zs.sort((p, q) => p - q);
  let z = zs.length > 0 ? zs[zs.length >> 1] : 1;
  forRegion(region, frame.width, (k) => {
    if (frame.valid[k]) z = Math.min(z, frame.depth[k]);
  });
  const value = Math.fround(z);
  forRegion(region, frame.width, (k) => {
    frame.depth[k] = value;
    frame.valid[k] = 1;
  });
  return fallback ? { mode: "constant", fallback, depth: value } : { mode: "constant", depth: value };
}

function fillSeed(frame: DepthFrame, region: Region): FillRecord | null {
  const { width, height } = frame;
  const depths = region.corners.map(([u, v]) => {
    const k = Math.min(height - 1, Math.max(0, Math.round(v))) * width +
      Math.min(width - 1, Math.max(0, Math.round(u)));
    return frame.valid[k] ? frame.depth[k] : NaN;
  });
  const valid = depths.map((d, i) => [d, i] as const).filter(([d]) => Number.isFinite(d));
  if (valid.length === 0) return null;
  const [far, corner] = valid.reduce((best, cur) => (cur[0] > best[0] ? cur : best));
  const near = Math.min(...valid.map(([d]) => d));
  const [cu, cv] = region.corners[corner];
  const [ou, ov] = region.corners[(corner + 2) % region.corners.length];
  const gu = ou - cu, gv = ov - cv, g2 = gu * gu + gv * gv || 1;
  forRegion(region, width, (k, u, v) => {
    const t = Math.min(1, Math.max(0, ((u - cu) * gu + (v - cv) * gv) / g2));
    frame.depth[k] = far + (near - far) * t;
    frame.valid[k] = 1;
  });
  return { mode: "seed", seed: { corner, far, near } };
}
