/**
 * Where pasted content comes from, and choosing content that fools. The study found a picture fools a depth
 * model only when it carries real depth cues: large enough, with depth range and something near the camera
 * ("a plaque on a wall fools nobody"). Pool images carry no depth, so only their area is controlled (by the
 * placement); dataset frames ("wall paintings" of other vKITTI2 frames) are screened on their own depth.
 */
import type { RasterU8 } from "../io/raster.ts";
import type { Recipe } from "./recipe.ts";
import type { Rng } from "../rng.ts";

/** Content to paste, named for the manifest. */
export interface Content {
  readonly name: string;
  readonly rgb: RasterU8;
}

export interface FrameContent extends Content {
  /** Planar depth in metres and its validity, to screen the frame as a source. */
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
}

/** What the augmenter may paste from: a pool folder, other frames of the dataset, or nothing. */
export interface Sources {
  readonly poolSize: number;
  pool(index: number): Promise<Content>;
  readonly frameCount: number;
  frame(index: number): Promise<FrameContent>;
  /**
   * The frames on the same side of the train/val split as frame `index` (itself included), sorted: the only
   * frames its dataset art may come from. Absent: every frame is on one side.
   */
  sameSide?(index: number): readonly number[];
}

export interface Screening {
  /** p95 / p5 of the source's valid depth. */
  readonly depthRatio: number;
  /** Fraction of valid pixels nearer than the recipe's `nearDepth`. */
  readonly nearFraction: number;
  readonly passed: boolean;
}

export function screen(content: FrameContent, art: Recipe["art"]): Screening {
  const all = new Float32Array(content.depth.length);
  let n = 0, near = 0;
  for (let k = 0; k < content.depth.length; k++) {
    if (!content.valid[k]) continue;
    all[n++] = content.depth[k];
    if (content.depth[k] < art.nearDepth) near++;
  }
  if (n === 0) return { depthRatio: 0, nearFraction: 0, passed: false };
  // A typed array sorts numerically, natively, without a comparator call per comparison.
  const zs = all.subarray(0, n).sort();
  const p5 = zs[Math.floor(0.05 * (zs.length - 1))], p95 = zs[Math.floor(0.95 * (zs.length - 1))];
  const depthRatio = p5 > 0 ? p95 / p5 : 0;
  const nearFraction = near / n;
  return {
    depthRatio,
    nearFraction,
    passed: depthRatio >= art.minDepthRatio && nearFraction >= art.minNearFraction,
  };
}

export interface Chosen {
  readonly content: Content;
  /** How the content was picked, for the manifest. */
  readonly source: { type: "pool" | "frame"; name: string; screening?: Screening; tried?: number };
}

/**
 * Picks art for a frame. Dataset sources: up to `tries` other frames on the frame's side of the split, the first
 * that passes the screening, else the one with the largest depth range seen (the manifest says it did not pass).
 */
export async function chooseArt(
  sources: Sources,
  art: Recipe["art"],
  self: number,
  rng: Rng,
): Promise<Chosen> {
  if (art.source === "pool") {
    if (sources.poolSize === 0) throw new Error("recipe pastes pool art but no --art folder was given");
    const content = await sources.pool(rng.int(0, sources.poolSize - 1));
    return { content, source: { type: "pool", name: content.name } };
  }
  const group = sources.sameSide?.(self);
  const count = group ? group.length : sources.frameCount;
  const at = group ? group.indexOf(self) : self;
  if (count < 2 || at < 0) {
    throw new Error(
      group
        ? `dataset art needs another frame on this frame's side of the split; it has ${
          count - (at < 0 ? 0 : 1)
        }`
        : "dataset art needs at least two frames",
    );
  }
  const known = screenings(sources, art);
  let best: { index: number; screening: Screening } | null = null;
  for (let t = 1; t <= art.tries; t++) {
    // Any frame of the side but this one: draw from n − 1 and skip over self.
    let pick = rng.int(0, count - 2);
    if (pick >= at) pick++;
    const index = group ? group[pick] : pick;
    let screening = known.get(index);
    if (!screening) known.set(index, screening = screen(await sources.frame(index), art));
    if (screening.passed) {
      const content = await sources.frame(index);
      return { content, source: { type: "frame", name: content.name, screening, tried: t } };
    }
    if (!best || screening.depthRatio > best.screening.depthRatio) best = { index, screening };
  }
  const content = await sources.frame(best!.index);
  return {
    content,
    source: { type: "frame", name: content.name, screening: best!.screening, tried: art.tries },
  };
}

/**
 * Screenings already made, per sources and recipe: a frame's screening depends on nothing else, and most
 * candidates fail, so a frame drawn again is not read and decoded again only to fail once more.
 */
const screened = new WeakMap<Sources, WeakMap<Recipe["art"], Map<number, Screening>>>();

function screenings(sources: Sources, art: Recipe["art"]): Map<number, Screening> {
  let byArt = screened.get(sources);
  if (!byArt) screened.set(sources, byArt = new WeakMap());
  let known = byArt.get(art);
  if (!known) byArt.set(art, known = new Map());
  return known;
}

/** A rectangle of an image, flipped left↔right: what a mirror shows of the other half of the room. */
export function flippedCrop(
  image: RasterU8,
  x0: number,
  y0: number,
  width: number,
  height: number,
): RasterU8 {
  const c = image.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = ((y0 + y) * image.width + x0 + width - 1 - x) * c;
      data.set(image.data.subarray(src, src + c), (y * width + x) * c);
    }
  }
  return { width, height, channels: c, data };
}

/**
 * Box-filters a texture down by an integer factor when it will be drawn at under half its size, so that
 * bilinear sampling of a large source into a small picture does not alias (moiré betrays a paste).
 */
export function prefilter(tex: RasterU8, drawnWidth: number, drawnHeight: number): RasterU8 {
  const factor = Math.floor(Math.min(tex.width / drawnWidth, tex.height / drawnHeight));
  if (factor < 2) return tex;
  const w = Math.floor(tex.width / factor), h = Math.floor(tex.height / factor), c = tex.channels;
  const data = new Uint8Array(w * h * c);
  const n = factor * factor;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < c; ch++) {
        let s = 0;
        for (let dy = 0; dy < factor; dy++) {
          const row = (y * factor + dy) * tex.width + x * factor;
          for (let dx = 0; dx < factor; dx++) s += tex.data[(row + dx) * c + ch];
        }
        data[(y * w + x) * c + ch] = Math.round(s / n);
      }
    }
  }
  return { width: w, height: h, channels: c, data };
}
