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
 *   picture covers (sample_augment's placeGuarded, through `planFill`), and hands that wall to the fill.
 * - `seed`: the original study's "gradient of decreasing depth starting at the deepest corner of the region",
 *   "the nearest depth applied forward from the deepest corner". Our reading: of the four corners of the
 *   region's bounding quadrilateral, the deepest keeps its ground-truth depth, and depth falls linearly in image
 *   space along the diagonal to the opposite corner, reaching there the nearest of the four corner depths.
 *   It is not a plane (linear in Z, not 1/Z); it is kept so the study can be reproduced.
 * - `constant`: a fronto-parallel surface at the ring's median depth, moved forward to the nearest covered depth.
 *
 * Whatever the mode, the written depth must be plausible: finite, positive, inside the dataset's range and
 * inside the band of depths around the region (`surroundBand`). A wall fitted across a room's corner once put
 * a third of the trompe preset's mirrors 2 cm from the camera; now a fit must be well conditioned and carry
 * most of the ring (`MIN_SUPPORT`), a surface that leaves the band falls back to `constant` (recorded), and
 * placement (sample_augment) draws another spot before it settles for a fallback.
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

/** The depths a region's new ground truth may take: its surround's, inside the dataset's range. */
export interface DepthBand {
  readonly near: number;
  readonly far: number;
}

export interface FillRecord {
  readonly mode: DepthMode;
  /** Set when the requested mode could not be used and `constant` was, with the reason. */
  readonly fallback?: string;
  /**
   * Set when not even the constant fits the surround's band (the region covers something far nearer than
   * everything around it): the depth is written anyway, and the caller should not keep such a placement.
   */
  readonly implausible?: string;
  /** The surround's depth band the written depth was checked against. */
  readonly band?: readonly [number, number];
  /** plane: inverse depth 1/Z = a·u + b·v + c (after any forward move). */
  readonly plane?: readonly [number, number, number];
  /** plane: how much the fitted plane's inverse depth was scaled to bring it in front (1 = not moved). */
  readonly pushed?: number;
  /** plane: the fraction of the ring's pixels on the fitted plane. */
  readonly support?: number;
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
  /** The dataset's depth range in metres; written depth stays inside it (default: any positive depth). */
  readonly range?: DepthRange;
}

export interface DepthRange {
  readonly minDepth: number;
  readonly maxDepth: number;
}

const MIN_RING_POINTS = 30;

/** Ring width in pixels for a frame, from a recipe's ring (given at 1024 px wide). */
export function ringPixels(recipeRing: number, width: number): number {
  return Math.max(1, Math.round((recipeRing * width) / 1024));
}
/**
 * The surround's band is its 2nd–98th percentile depth widened by this factor each way: a tilted wall's plane
 * over a convex region takes the values it has at the region's edge, which the ring holds, give or take the
 * ring's own width; anything beyond that is a plane that is not the wall (the 2 cm mirrors of a fit across a
 * room's corner were 100× off).
 */
export const BAND_MARGIN = 1.25;

/** A surface's depth at pixel (u, v), and what to record for it. */
export interface Surface {
  readonly record: FillRecord;
  depthAt(u: number, v: number): number;
  /** plane: the wall as fitted, before any forward move (placement hands it to the final fill). */
  readonly wall?: readonly [number, number, number];
}

/**
 * Writes the region's new ground truth: the requested mode's surface if it is plausible — finite, positive,
 * inside the surround's depth band and the dataset's range — else a constant at the surround's depth (the
 * reason recorded as `fallback`); if not even that fits, `implausible` says why.
 */
export function fillDepth(frame: DepthFrame, region: Region, mode: DepthMode, opts: FillOptions): FillRecord {
  return writeFill(frame, region, planFill(frame, region, mode, opts));
}

/** Writes a planned surface over the region, marking it valid; returns its record. */
export function writeFill(frame: DepthFrame, region: Region, surface: Surface): FillRecord {
  forRegion(region, frame.width, (k, u, v) => {
    frame.depth[k] = surface.depthAt(u, v);
    frame.valid[k] = 1;
  });
  return surface.record;
}

/** What `fillDepth` would write, without writing it: placement uses it to judge a spot before pasting. */
export function planFill(frame: DepthFrame, region: Region, mode: DepthMode, opts: FillOptions): Surface {
  const points = ringPoints(frame, region, opts.ring);
  const band = bandOf(frame, points, opts.range);
  const withBand = (s: Surface): Surface => ({ ...s, record: { ...s.record, band: [band.near, band.far] } });
  if (mode === "constant") return withBand(constantSurface(frame, region, points, band));
  const requested = mode === "seed"
    ? seedSurface(frame, region)
    : planeSurface(frame, region, points, opts.wall);
  if ("depthAt" in requested) {
    const wrong = bandViolation(requested, region, frame.width, band);
    if (wrong === null) return withBand(requested);
    const constant = constantSurface(frame, region, points, band, `${mode} ${wrong}`);
    // When nothing fits (the region covers something far nearer than its surround), the requested surface —
    // still in front of what it covers — is kept and flagged, for placement to refuse.
    if (!constant.record.implausible || wrong === NON_FINITE) return withBand(constant);
    return withBand({ ...requested, record: { ...requested.record, implausible: wrong } });
  }
  return withBand(constantSurface(frame, region, points, band, requested.reason));
}

function planeSurface(
  frame: DepthFrame,
  region: Region,
  points: Float64Array,
  wall?: readonly [number, number, number],
): Surface | { reason: string } {
  let inv = wall, support: number | undefined;
  if (!inv) {
    const fit = fitWallPlane(points, frame.intrinsics);
    if ("reason" in fit) return fit;
    (inv = fit.plane), (support = fit.support);
  }
  let push = planePush(frame, region, inv);
  if (push === null) return { reason: "plane passes behind the camera" };
  // A hair more than needed so float32 rounding of the plane depth can never land behind the content.
  if (push > 1) push *= 1 + 1e-6;
  const [a, b, c] = inv;
  const plane: [number, number, number] = [a * push, b * push, c * push];
  const record: FillRecord = support === undefined
    ? { mode: "plane", plane, pushed: push }
    : { mode: "plane", plane, pushed: push, support };
  return { record, wall: inv, depthAt: (u, v) => 1 / (plane[0] * u + plane[1] * v + plane[2]) };
}

/**
 * The surround's depth band: the ring's valid depths (the whole frame's when the ring has too few), 2nd–98th
 * percentile widened by BAND_MARGIN, clipped to the dataset's range.
 */
export function surroundBand(frame: DepthFrame, region: Region, ring: number, range?: DepthRange): DepthBand {
  return bandOf(frame, ringPoints(frame, region, ring), range);
}

function bandOf(frame: DepthFrame, points: Float64Array, range?: DepthRange): DepthBand {
  let zs: Float32Array;
  if (points.length / 3 >= MIN_RING_POINTS) {
    zs = new Float32Array(points.length / 3);
    for (let i = 0; i < zs.length; i++) zs[i] = points[3 * i + 2];
  } else {
    const all: number[] = [];
    for (let k = 0; k < frame.depth.length; k++) if (frame.valid[k]) all.push(frame.depth[k]);
    zs = Float32Array.from(all);
  }
  zs.sort();
  const finite = zs.filter((z) => Number.isFinite(z) && z > 0);
  const lo = finite.length ? finite[Math.floor(0.02 * (finite.length - 1))] : NaN;
  const hi = finite.length ? finite[Math.ceil(0.98 * (finite.length - 1))] : NaN;
  const minDepth = range?.minDepth ?? 0, maxDepth = range?.maxDepth ?? Infinity;
  if (!(lo > 0)) return { near: minDepth, far: maxDepth };
  return { near: Math.max(minDepth, lo / BAND_MARGIN), far: Math.min(maxDepth, hi * BAND_MARGIN) };
}

const NON_FINITE = "depth is non-finite or not positive somewhere in the region";

/** Why a surface is not plausible over the region (non-finite, non-positive, outside the band), or null. */
function bandViolation(surface: Surface, region: Region, width: number, band: DepthBand): string | null {
  let lo = Infinity, hi = -Infinity, bad = false;
  forRegion(region, width, (_k, u, v) => {
    const z = Math.fround(surface.depthAt(u, v));
    if (!(Number.isFinite(z) && z > 0)) bad = true;
    else (lo = Math.min(lo, z)), (hi = Math.max(hi, z));
  });
  if (bad) return NON_FINITE;
  if (lo < band.near || hi > band.far) {
    return `depth ${lo.toPrecision(3)}–${hi.toPrecision(3)} m leaves the surround's band ` +
      `${band.near.toPrecision(3)}–${band.far.toPrecision(3)} m`;
  }
  return null;
}

/** A wall must carry at least this fraction of the ring: a ring split across two walls is no wall. */
export const MIN_SUPPORT = 0.6;

/**
 * The wall behind a region: the plane fitted to the ring around it, as inverse depth (a, b, c), or why there
 * is none (too few ring pixels, a degenerate or ill-conditioned fit, a ring that is not mostly one plane).
 */
function fitWallPlane(
  points: Float64Array,
  intrinsics: Intrinsics,
): { plane: [number, number, number]; support: number } | { reason: string } {
  if (points.length / 3 < MIN_RING_POINTS) return { reason: "too few valid ring pixels" };
  const fit = fitInversePlane(points, intrinsics);
  if (!fit) return { reason: "degenerate plane fit" };
  if (fit.support < MIN_SUPPORT) {
    return { reason: `no wall: the fitted plane holds ${(100 * fit.support).toFixed(0)} % of the ring` };
  }
  return fit;
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
 * Fits a 3D plane to (u, v, Z) points and returns its inverse depth as (a, b, c) with the fraction of points on
 * it, or null when degenerate. Robust to furniture in the ring: RANSAC picks the plane most points agree with
 * (within 1 % of their depth), then total least squares refits it on those inliers. The points are centred and
 * scaled before fitting (metres far from the origin would otherwise cost precision in every cross product),
 * and a fit whose inliers are nearly a line — a ring clipped to a thin strip by the frame's edge leaves the
 * plane free to turn about it — is refused. The hypotheses come from a fixed stream, so the fit is a function
 * of the points alone.
 */
export function fitInversePlane(
  points: Float64Array,
  k: Intrinsics,
): { plane: [number, number, number]; support: number } | null {
  const n = points.length / 3;
  if (n < 3) return null;
  const world = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const u = points[3 * i], v = points[3 * i + 1], z = points[3 * i + 2];
    world[3 * i] = ((u - k.cx) / k.fx) * z;
    world[3 * i + 1] = ((v - k.cy) / k.fy) * z;
    world[3 * i + 2] = z;
  }
  // Normalised coordinates: the centroid at the origin, unit RMS distance from it.
  const centre = [0, 1, 2].map((d) => world.reduce((s, x, i) => (i % 3 === d ? s + x : s), 0) / n);
  let spread = 0;
  for (let i = 0; i < 3 * n; i++) spread += (world[i] - centre[i % 3]) ** 2;
  const scale = Math.sqrt(spread / n) || 1;
  const xyz = world.map((x, i) => (x - centre[i % 3]) / scale);
  const inliers = (plane: readonly number[], stride: number): Uint8Array => {
    const keep = new Uint8Array(n);
    for (let i = 0; i < n; i += stride) {
      const r = plane[0] * xyz[3 * i] + plane[1] * xyz[3 * i + 1] + plane[2] * xyz[3 * i + 2] - plane[3];
      // Within INLIER of the point's own depth, measured in the normalised frame.
      if (Math.abs(r) <= (INLIER * world[3 * i + 2]) / scale) keep[i] = 1;
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
  const support = count(inliers(plane, 1)) / n;
  // Back to metres: n·(X − centre)/scale = d  ⇔  n·X = d·scale + n·centre.
  const [nx, ny, nz] = plane;
  const d = plane[3] * scale + nx * centre[0] + ny * centre[1] + nz * centre[2];
  // n·X = d with X = Z·((u − cx)/fx, (v − cy)/fy, 1)  ⇒  1/Z = (nx (u − cx)/fx + ny (v − cy)/fy + nz) / d.
  if (!(Math.abs(d) > 1e-9)) return null;
  const a = nx / (k.fx * d), b = ny / (k.fy * d);
  return { plane: [a, b, (nz - (nx * k.cx) / k.fx - (ny * k.cy) / k.fy) / d], support };
}

const INLIER = 0.01;
const HYPOTHESES = 64;
/** The narrowest ring accepted, as a ratio of its in-plane widths (a 1:50 strip is still a plane). */
const MIN_CONDITION = 0.02;

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
  // Points along a line (or nearly: a thin strip) leave the plane free to turn about it: the in-plane spread
  // across the line must be at least MIN_CONDITION of the spread along it.
  if (!(values[order[1]] >= MIN_CONDITION * MIN_CONDITION * values[order[2]])) return null;
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

/**
 * A fronto-parallel surface at the ring's median depth, moved forward to the nearest covered depth, kept
 * inside the band where it can be; `implausible` when the covered content is nearer than the band allows.
 */
function constantSurface(
  frame: DepthFrame,
  region: Region,
  points: Float64Array,
  band: DepthBand,
  fallback?: string,
): Surface {
  const zs: number[] = [];
  for (let i = 2; i < points.length; i += 3) zs.push(points[i]);
  if (zs.length === 0) {
    for (let k = 0; k < frame.depth.length; k++) if (frame.valid[k]) zs.push(frame.depth[k]);
  }
  zs.sort((p, q) => p - q);
  let z = zs.length > 0 ? zs[zs.length >> 1] : 1;
  if (!(z > 0 && Number.isFinite(z))) z = band.near;
  z = Math.min(Math.max(z, band.near), band.far);
  forRegion(region, frame.width, (k) => {
    if (frame.valid[k]) z = Math.min(z, frame.depth[k]);
  });
  const value = Math.fround(z);
  const implausible = value >= band.near ? undefined : `covered content at ${value.toPrecision(3)} m is ` +
    `nearer than the surround's band ${band.near.toPrecision(3)}–${band.far.toPrecision(3)} m`;
  const record: FillRecord = {
    mode: "constant",
    ...(fallback ? { fallback } : {}),
    ...(implausible ? { implausible } : {}),
    depth: value,
  };
  return { record, depthAt: () => value };
}

function seedSurface(frame: DepthFrame, region: Region): Surface | { reason: string } {
  const { width, height } = frame;
  const depths = region.corners.map(([u, v]) => {
    const k = Math.min(height - 1, Math.max(0, Math.round(v))) * width +
      Math.min(width - 1, Math.max(0, Math.round(u)));
    return frame.valid[k] ? frame.depth[k] : NaN;
  });
  const valid = depths.map((d, i) => [d, i] as const).filter(([d]) => Number.isFinite(d));
  if (valid.length === 0) return { reason: "no valid corner" };
  const [far, corner] = valid.reduce((best, cur) => (cur[0] > best[0] ? cur : best));
  const near = Math.min(...valid.map(([d]) => d));
  const [cu, cv] = region.corners[corner];
  const [ou, ov] = region.corners[(corner + 2) % region.corners.length];
  const gu = ou - cu, gv = ov - cv, g2 = gu * gu + gv * gv || 1;
  return {
    record: { mode: "seed", seed: { corner, far, near } },
    depthAt: (u, v) => far + (near - far) * Math.min(1, Math.max(0, ((u - cu) * gu + (v - cv) * gv) / g2)),
  };
}
