/**
 * Checks an augmented frame's rewritten ground truth the way the augmenter's guard judges it before writing
 * (depth_fill's surround band): each pasted region (mask 1 mirror, 2 art) must hold finite, valid depth, no
 * nearer than the dataset's minimum and inside the band of depths around it. `deno task data` runs it on
 * every frame of a set that has masks, so a set written by an older trompe, by hand, or by another tool says
 * where its ground truth went wrong.
 */
import { DEPTH_RANGE } from "../data/datasets.ts";
import type { Sample } from "../data/sample.ts";
import { join, relative } from "node:path";
import { asTrompeError } from "../errors.ts";
import { readPng } from "../io/png.ts";
import { type DepthRange, type Region, ringPixels, surroundBand } from "./depth_fill.ts";
import { maskPath } from "../data/frame_paths.ts";
import { MASK } from "./sample_augment.ts";

export interface RegionProblem {
  readonly region: "mirror" | "art";
  readonly problem: string;
}

/**
 * A reader for `deno task data` that also checks each frame of an augmented set (a folder with `masks/`):
 * frames whose pasted regions are implausible come back as problems naming the frame and the region, and the
 * frame is still returned for the rest of the scan. Null when `root` holds no masks.
 */
export async function augmentedSetChecker(
  root: string,
): Promise<((sample: Sample) => Promise<{ path: string; problem: string }[]>) | null> {
  try {
    if (!(await Deno.stat(join(root, "masks"))).isDirectory) return null;
  } catch {
    return null;
  }
  // The ring the set was made with (recipe.json), else the recipe default.
  let recipeRing = 8;
  try {
    const json = JSON.parse(await Deno.readTextFile(join(root, "recipe.json")));
    if (typeof json?.recipe?.depth?.ring === "number") recipeRing = json.recipe.depth.ring;
  } catch {
    // no recipe.json: a set made elsewhere
  }
  return async (sample) => {
    const path = join(root, maskPath({ rgb: relative(root, sample.rgbPath) }));
    let mask: Uint8Array;
    try {
      const png = await readPng(path);
      if (png.channels !== 1 || png.width !== sample.width || png.height !== sample.height) {
        return [{
          path,
          problem: `mask is ${png.width}×${png.height}×${png.channels}, the frame ` +
            `${sample.width}×${sample.height}×1`,
        }];
      }
      mask = Uint8Array.from(png.data);
    } catch (error) {
      return [{ path, problem: asTrompeError(error, path).message }];
    }
    return checkPastedRegions(sample, mask, ringPixels(recipeRing, sample.width))
      .map((p) => ({ path: sample.rgbPath, problem: `${p.region}: ${p.problem}` }));
  };
}

/** What is wrong with the pasted regions of one augmented frame; empty when nothing is. */
export function checkPastedRegions(sample: Sample, mask: Uint8Array, ring: number): RegionProblem[] {
  const { width, height } = sample;
  if (mask.length !== width * height) {
    throw new RangeError(`mask has ${mask.length} pixels, the frame ${width}×${height}`);
  }
  const range: DepthRange = DEPTH_RANGE[sample.dataset];
  const problems: RegionProblem[] = [];
  for (const [name, label] of [["mirror", MASK.mirror], ["art", MASK.art]] as const) {
    const region = regionOf(mask, label, width, height);
    if (!region) continue;
    let lo = Infinity, hi = -Infinity, invalid = 0;
    const [x0, y0, x1, y1] = region.box;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const k = y * width + x;
        if (!region.mask[k]) continue;
        const z = sample.depth[k];
        if (!sample.valid[k] || !Number.isFinite(z)) invalid++;
        else (lo = Math.min(lo, z)), (hi = Math.max(hi, z));
      }
    }
    if (invalid > 0) {
      problems.push({ region: name, problem: `${invalid} pixels without finite, valid depth` });
    }
    if (lo < range.minDepth) {
      problems.push({
        region: name,
        problem: `depth ${fmt(lo)} m below the dataset's minimum ${range.minDepth} m`,
      });
    }
    const band = surroundBand(sample, region, ring, range);
    if (lo < band.near || hi > band.far) {
      problems.push({
        region: name,
        problem: `depth ${fmt(lo)}–${fmt(hi)} m leaves its surround's band ${fmt(band.near)}–${
          fmt(band.far)
        } m`,
      });
    }
  }
  return problems;
}

function fmt(z: number): string {
  return z.toPrecision(3);
}

/** The pixels carrying `label`, as a region with its bounding box; null when there are none. */
function regionOf(mask: Uint8Array, label: number, width: number, height: number): Region | null {
  const region = new Uint8Array(width * height);
  let x0 = width, y0 = height, x1 = 0, y1 = 0;
  for (let k = 0; k < mask.length; k++) {
    if (mask[k] !== label) continue;
    region[k] = 1;
    const x = k % width, y = (k - x) / width;
    (x0 = Math.min(x0, x)), (y0 = Math.min(y0, y)), (x1 = Math.max(x1, x + 1)), (y1 = Math.max(y1, y + 1));
  }
  return x1 > x0 ? { mask: region, box: [x0, y0, x1, y1], corners: [] } : null;
}
