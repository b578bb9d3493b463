/**
 * Stand-in depth models for evaluation tests, and a small augmented fixture set to run them on. A stand-in
 * finds a frame's ground truth by a hash of its RGB bytes, so it can answer exactly what a test wants (the
 * truth itself, or the truth with the pasted regions given depth from their own picture).
 */
import { join } from "node:path";
import { adapterFor } from "../../core/data/adapters.ts";
import type { DatasetName } from "../../core/data/datasets.ts";
import { maskPath } from "../../core/data/frame_paths.ts";
import { preset } from "../../core/augment/presets.ts";
import { parseRecipe } from "../../core/augment/recipe.ts";
import { runAugment } from "../../core/augment/runner.ts";
import type { DepthEstimator, DepthPrediction } from "../../core/nn/estimator.ts";
import { readPng } from "../../core/io/png.ts";
import type { RasterU8 } from "../../core/io/raster.ts";

export const FIXTURES = join(import.meta.dirname!, "../../fixtures");

export function rgbKey(rgb: RasterU8): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < rgb.data.length; i++) h = Math.imul(h ^ rgb.data[i], 0x01000193);
  return `${rgb.width}x${rgb.height}:${h >>> 0}`;
}

export interface KnownFrame {
  readonly rgb: RasterU8;
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly mask: Uint8Array | null;
  readonly width: number;
  readonly height: number;
}

/** Every frame of a set with its mask (null where the set has none), keyed by its RGB path. */
export async function knownFrames(dataset: DatasetName, root: string): Promise<Map<string, KnownFrame>> {
  const adapter = adapterFor(dataset);
  const frames = new Map<string, KnownFrame>();
  for (const ref of (await adapter.list(root)).frames) {
    const s = await adapter.read(root, ref);
    const mask = await readPng(join(root, maskPath(ref))).then((m) => m.data as Uint8Array).catch(() => null);
    frames.set(ref.rgb, {
      rgb: s.rgb,
      depth: s.depth,
      valid: s.valid,
      mask,
      width: s.width,
      height: s.height,
    });
  }
  return frames;
}

/**
 * A model answering `answer(frame)` for frames it knows. Where the ground truth is invalid it answers 1 m, as
 * a real model answers something everywhere.
 */
export function standIn(
  name: string,
  frames: Map<string, KnownFrame>,
  answer: (f: KnownFrame) => Float32Array,
): DepthEstimator {
  const byRgb = new Map([...frames.values()].map((f) => [rgbKey(f.rgb), f]));
  return {
    name,
    kind: "depth",
    predict(rgb: RasterU8): Promise<DepthPrediction> {
      const f = byRgb.get(rgbKey(rgb));
      if (!f) return Promise.reject(new Error("stand-in model: unknown frame"));
      const data = answer(f).map((z, i) => (f.valid[i] && z > 0 ? z : 1));
      return Promise.resolve({ data, width: f.width, height: f.height });
    },
  };
}

/** The truth. */
export const truth = (f: KnownFrame) => f.depth;

/** The truth outside pasted regions; inside, depth from the picture's luminance (1–5 m): what a fooled model does. */
export function luminanceInside(f: KnownFrame): Float32Array {
  return f.depth.map((z, i) => {
    const label = f.mask?.[i] ?? 0;
    if (label !== 1 && label !== 2) return z;
    const lum = 0.299 * f.rgb.data[3 * i] + 0.587 * f.rgb.data[3 * i + 1] + 0.114 * f.rgb.data[3 * i + 2];
    return 1 + (4 * lum) / 255;
  });
}

/** The fixture Hypersim scenes augmented with the trompe preset (no clean frames; art from other frames). */
export async function augmentedFixtures(out: string): Promise<string> {
  const root = join(FIXTURES, "hypersim");
  const recipe = parseRecipe(
    {
      ...preset("trompe"),
      name: "eval-test",
      clean: 0,
      negatives: 0.5,
      area: [0.08, 0.3],
      art: { source: "dataset" },
    },
    "test recipe",
  );
  const frames = (await adapterFor("hypersim").list(root)).frames;
  await runAugment(
    { dataset: "hypersim", root, out, recipe, seed: 3, frames },
    { workers: 1, shard: [1, 1], resume: false, version: "test" },
  );
  return out;
}
