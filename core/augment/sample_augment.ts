/**
 * One frame through the recipe: decide clean / mirror / art, choose content, place it, composite it, rewrite
 * the ground truth of the covered pixels and label them in the mask; optionally add a negative. Pure apart
 * from reading sources: the same frame, recipe, seed and sources give the same bytes, in any process.
 *
 * A pixel belongs to a region when the object covers any of it (the compositor's coverage): the mask and the
 * rewritten depth then agree pixel for pixel, and every pixel outside the mask keeps its RGB and depth bit for
 * bit, while inside the RGB still blends smoothly across the edge.
 */
import type { RasterU8 } from "../io/raster.ts";
import { composite, type Footprint } from "./composite.ts";
import { type DatasetName, DEPTH_RANGE, MAX_STORABLE_DEPTH } from "../data/datasets.ts";
import type { Intrinsics } from "../data/sample.ts";
import {
  type DepthFrame,
  type DepthRange,
  type FillRecord,
  planFill,
  type Region,
  ringPixels,
  type Surface,
  writeFill,
} from "./depth_fill.ts";
import type { Placement, Point } from "./homography.ts";
import { place, type Placed } from "./placement.ts";
import type { Recipe } from "./recipe.ts";
import { Rng } from "../rng.ts";
import { TrompeError } from "../errors.ts";
import type { Border } from "./borders.ts";
import type { Shape } from "./shapes.ts";
import { chooseArt, type Chosen, flippedCrop, prefilter, type Sources } from "./sources.ts";
import { shapeSdf } from "./shapes.ts";

export const MASK = { untouched: 0, mirror: 1, art: 2, negative: 3 } as const;

export interface FrameInput {
  /** Identity hashed with the seed (the RGB path relative to the dataset root). */
  readonly id: string;
  /** Position in the whole frame list, so a dataset source never picks the frame itself. */
  readonly index: number;
  readonly rgb: RasterU8;
  /** Planar depth (m) and validity; not modified. */
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
  /** The frame's dataset: rewritten depth stays inside its range (without one: any positive depth). */
  readonly dataset?: DatasetName;
}

export interface RegionRecord {
  readonly label: "mirror" | "art" | "negative";
  readonly shape: Shape;
  readonly border: Border;
  readonly placement: Placement;
  readonly corners: Point[];
  readonly outer: Point[];
  /** Pixels labelled, as a fraction of the frame. */
  readonly area: number;
  /** null for negatives, whose depth is left true. */
  readonly depth: FillRecord | null;
  readonly source?: Chosen["source"] | { type: "mirror"; from: "left" | "right"; crop: number[] };
}

export interface SampleRecord {
  readonly kind: "clean" | "mirror" | "art";
  readonly regions: RegionRecord[];
  /** Set when the frame was to be augmented but no placement gave plausible ground truth: left clean. */
  readonly skipped?: string;
}

export interface Augmented {
  readonly rgb: RasterU8;
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly mask: Uint8Array;
  readonly record: SampleRecord;
}

export interface AugmentOptions {
  /**
   * Edit the frame's RGB, depth and validity where they are instead of copies (the result is the same): for a
   * caller that reads a frame only to augment it, saving ~6 MB of fresh memory per 1024×768 frame.
   */
  readonly inPlace?: boolean;
}

export async function augmentFrame(
  frame: FrameInput,
  recipe: Recipe,
  seed: number,
  sources: Sources,
  options: AugmentOptions = {},
): Promise<Augmented> {
  const { width, height } = frame;
  const mask = new Uint8Array(width * height);
  const decide = Rng.derive(seed, frame.id, "kind");
  if (decide.chance(recipe.clean)) {
    return {
      rgb: frame.rgb,
      depth: frame.depth,
      valid: frame.valid,
      mask,
      record: { kind: "clean", regions: [] },
    };
  }
  // With no valid depth there is nothing to fit a surface to: a pasted region's ground truth could only be
  // invented (it once was a 1 m plane), so the frame is refused and becomes a reject.
  if (!frame.valid.some((v) => v !== 0)) {
    throw new TrompeError(
      "corrupt",
      "no valid depth pixel: a pasted surface's depth could only be invented",
      {
        subject: frame.id,
        hint: "the depth file is empty or all NaN",
      },
    );
  }
  const kind = decide.weighted(recipe.kinds);
  const copy = !options.inPlace;
  const rgb = copy ? { ...frame.rgb, data: frame.rgb.data.slice() } : frame.rgb;
  const out: DepthFrame = {
    depth: copy ? frame.depth.slice() : frame.depth,
    valid: copy ? frame.valid.slice() : frame.valid,
    width,
    height,
    intrinsics: frame.intrinsics,
  };
  const geometry = { width, height, focal: frame.intrinsics.fx };
  const rng = Rng.derive(seed, frame.id, "place");

  let texture: RasterU8, source: RegionRecord["source"], xRange: [number, number];
  if (kind === "mirror") {
    // A portion of one half, flipped, shown on the other half: what a mirror there would reflect.
    const from = rng.chance(0.5) ? "left" : "right";
    const half = Math.floor(width / 2);
    const cw = Math.max(2, Math.round(rng.uniform(...recipe.mirror.width) * half));
    const ch = Math.max(2, Math.round(rng.uniform(...recipe.mirror.height) * height));
    const x0 = (from === "left" ? 0 : width - half) + rng.int(0, half - cw);
    const y0 = rng.int(0, height - ch);
    texture = flippedCrop(frame.rgb, x0, y0, cw, ch);
    source = { type: "mirror", from, crop: [x0, y0, cw, ch] };
    xRange = from === "left" ? [half, width - 1] : [0, half - 1];
  } else {
    const chosen = await chooseArt(sources, recipe.art, frame.index, Rng.derive(seed, frame.id, "art"));
    texture = chosen.content.rgb;
    source = chosen.source;
    xRange = [0, width - 1];
  }
  const ring = ringPixels(recipe.depth.ring, width);
  const aspect = texture.width / texture.height;
  const fillOptions = { ring, range: frame.dataset && augmentRange(frame.dataset) };
  const pasted = placeGuarded(out, rgb, geometry, recipe, aspect, xRange, rng, fillOptions, (placed) => {
    const prefiltered = prefilter(texture, placed.shape.width, placed.shape.height);
    const fp = composite(rgb, { ...placed, sdf: shapeSdf(placed.shape), texture: prefiltered });
    return regionOf(fp, placed, width, height);
  });
  if (!pasted) {
    return {
      rgb: frame.rgb,
      depth: frame.depth,
      valid: frame.valid,
      mask,
      record: { kind: "clean", regions: [], skipped: `no placement of a ${kind} had plausible ground truth` },
    };
  }
  const { placed, region, surface } = pasted;
  const fill = writeFill(out, region, surface);
  const label = kind === "mirror" ? MASK.mirror : MASK.art;
  const regions = [record(kind, placed, region, fill, source, width, height)];
  labelMask(mask, region, label, width);

  if (recipe.negatives > 0 && Rng.derive(seed, frame.id, "negative?").chance(recipe.negatives)) {
    const negative = placeNegative(rgb, mask, geometry, recipe, Rng.derive(seed, frame.id, "negative"));
    if (negative) {
      labelMask(mask, negative.region, MASK.negative, width);
      regions.push(record("negative", negative.placed, negative.region, null, undefined, width, height));
    }
  }
  return { rgb, depth: out.depth, valid: out.valid, mask, record: { kind, regions } };
}

/** Rewritten depth: at least the official minimum, at most what the dataset's files can store. */
export function augmentRange(dataset: DatasetName): DepthRange {
  return { minDepth: DEPTH_RANGE[dataset].minDepth, maxDepth: MAX_STORABLE_DEPTH[dataset] };
}

/** Placements drawn looking for one whose ground truth is plausible (and, in plane mode, on its wall). */
const PLACEMENT_TRIES = 16;
/** Covered content up to this much nearer than the fitted wall still counts as the wall (relief, fit noise). */
const WALL_TOLERANCE = 1.05;

/**
 * Where the picture goes. Each drawn placement is first judged by the fill it would get over every pixel the
 * compositor could touch (the outer polygon grown by half a pixel's diagonal): its depth must be plausible
 * (the requested mode, no fallback, inside the surround's band — depth_fill's guard). In plane mode a picture
 * also hangs on a wall, so it cannot occlude a chair standing in front of it: the wall must be in front of
 * everything covered, give or take WALL_TOLERANCE. A placement that passes is pasted and its fill planned again
 * on the pixels it really covers, the final word: if that is implausible the paste is undone and the search
 * goes on. Failing every try, the best seen (a plane needing the least forward move, then any plausible
 * fallback) is pasted on the same terms; failing that null, and the frame is left clean rather than given
 * ground truth nobody should train on. The first draw is the only draw whenever it passes, so recipes whose
 * spots were already good keep their bytes.
 */
function placeGuarded(
  frame: DepthFrame,
  rgb: RasterU8,
  geometry: { width: number; height: number; focal: number },
  recipe: Recipe,
  aspect: number,
  xRange: [number, number],
  rng: Rng,
  fill: { ring: number; range?: DepthRange },
  paste: (placed: Placed) => Region,
): { placed: Placed; region: Region; surface: Surface } | null {
  const mode = recipe.depth.mode;
  const scratch = new Uint8Array(geometry.width * geometry.height);
  /** Pastes, plans the fill on the covered pixels, and undoes the paste if that fill is implausible. */
  const attempt = (placed: Placed, outline: Region, wall?: readonly [number, number, number]) => {
    const [x0, y0, x1, y1] = outline.box;
    const saved = rgb.data.slice(3 * y0 * geometry.width, 3 * y1 * geometry.width);
    const region = paste(placed);
    const surface = planFill(frame, region, mode, { ...fill, wall });
    if (!surface.record.implausible) return { placed, region, surface };
    if (x1 > x0) rgb.data.set(saved, 3 * y0 * geometry.width);
    return null;
  };
  let best:
    | { placed: Placed; outline: Region; wall?: readonly [number, number, number]; rank: number }
    | null = null;
  for (let t = 0; t < PLACEMENT_TRIES; t++) {
    const placed = place(geometry, recipe, aspect, xRange, rng);
    const outline = polygonRegion(placed.outer, scratch, geometry.width, geometry.height);
    const { record, wall } = planFill(frame, outline, mode, fill);
    if (record.implausible) continue;
    if (!record.fallback && (mode !== "plane" || record.pushed! <= WALL_TOLERANCE)) {
      const done = attempt(placed, outline, wall);
      if (done) return done;
      continue;
    }
    // Rank what is kept if no try passes: a plane moved forward (by how much) before any fallback.
    const rank = wall && !record.fallback ? record.pushed! : Infinity;
    if (!best || rank < best.rank) {
      best = { placed, outline: { ...outline, mask: outline.mask.slice() }, wall, rank };
    }
  }
  return best && attempt(best.placed, best.outline, best.wall);
}

/** Pixels whose centre lies within √½ px of a convex polygon, written into `mask` (cleared first). */
function polygonRegion(polygon: readonly Point[], mask: Uint8Array, width: number, height: number): Region {
  mask.fill(0);
  const grow = Math.SQRT1_2;
  const xs = polygon.map((p) => p[0]), ys = polygon.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs) - grow)),
    x1 = Math.min(width, Math.ceil(Math.max(...xs) + grow) + 1);
  const y0 = Math.max(0, Math.floor(Math.min(...ys) - grow)),
    y1 = Math.min(height, Math.ceil(Math.max(...ys) + grow) + 1);
  // Outward unit normals whichever way the polygon winds (the sign of its area says which).
  let area = 0;
  for (let i = 0; i < polygon.length; i++) {
    const [ax, ay] = polygon[i], [bx, by] = polygon[(i + 1) % polygon.length];
    area += ax * by - bx * ay;
  }
  const edges = polygon.map(([ax, ay], i) => {
    const [bx, by] = polygon[(i + 1) % polygon.length];
    const len = Math.hypot(bx - ax, by - ay) || 1, sign = area > 0 ? 1 : -1;
    return { ax, ay, nx: (sign * (by - ay)) / len, ny: (-sign * (bx - ax)) / len };
  });
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (edges.every((e) => e.nx * (x - e.ax) + e.ny * (y - e.ay) <= grow)) mask[y * width + x] = 1;
    }
  }
  return { mask, box: [x0, y0, x1, y1], corners: polygon };
}

/**
 * A border around real content (a window frame onto real depth), placed away from the positive region so
 * that neither hides the other; up to a few tries, else none. Depth is left true.
 */
function placeNegative(
  rgb: RasterU8,
  mask: Uint8Array,
  geometry: { width: number; height: number; focal: number },
  recipe: Recipe,
  rng: Rng,
): { placed: Placed; region: Region } | null {
  const minBorder = Math.max(recipe.border.width[0], 0.02);
  for (let t = 0; t < 5; t++) {
    const placed = place(geometry, recipe, rng.uniform(0.6, 1.6), [0, geometry.width - 1], rng, minBorder);
    if (!overlapsFree(placed.outer, mask, geometry.width, geometry.height)) continue;
    const fp = composite(rgb, { ...placed, sdf: shapeSdf(placed.shape), texture: null });
    return { placed, region: regionOf(fp, placed, geometry.width, geometry.height) };
  }
  return null;
}

/** True when the polygon's bounding box (grown by 2 px for the blended edge) holds no labelled pixel. */
function overlapsFree(outer: Point[], mask: Uint8Array, width: number, height: number): boolean {
  const xs = outer.map((p) => p[0]), ys = outer.map((p) => p[1]);
  const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 2),
    x1 = Math.min(width, Math.ceil(Math.max(...xs)) + 3);
  const y0 = Math.max(0, Math.floor(Math.min(...ys)) - 2),
    y1 = Math.min(height, Math.ceil(Math.max(...ys)) + 3);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (mask[y * width + x]) return false;
  return true;
}

function regionOf(fp: Footprint, placed: Placed, width: number, height: number): Region {
  const mask = new Uint8Array(width * height);
  const bw = fp.x1 - fp.x0;
  for (let y = fp.y0; y < fp.y1; y++) {
    for (let x = fp.x0; x < fp.x1; x++) {
      if (fp.cover[(y - fp.y0) * bw + x - fp.x0] > 0) mask[y * width + x] = 1;
    }
  }
  return { mask, box: [fp.x0, fp.y0, fp.x1, fp.y1], corners: placed.outer };
}

function labelMask(mask: Uint8Array, region: Region, label: number, width: number): void {
  const [x0, y0, x1, y1] = region.box;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) if (region.mask[y * width + x]) mask[y * width + x] = label;
  }
}

function record(
  label: RegionRecord["label"],
  placed: Placed,
  region: Region,
  depth: FillRecord | null,
  source: RegionRecord["source"],
  width: number,
  height: number,
): RegionRecord {
  let n = 0;
  const [x0, y0, x1, y1] = region.box;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) n += region.mask[y * width + x];
  const { shape, border, placement, corners, outer } = placed;
  return { label, shape, border, placement, corners, outer, area: n / (width * height), depth, source };
}
