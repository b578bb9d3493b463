/**
 * What `deno task predict --save` writes for one image, each file atomically:
 * - npy: float32 H×W, the model's output at the image size (metres, or disparity for relative models);
 * - png16: uint16, `_depth16.png` in millimetres for a metric head; `_disparity16.png` holding disparity·1000
 *   for a relative head (no unit: it is not depth); clamped to 0..65535, the clamped pixels counted;
 * - color: the colour preview with its numbered scale bar, drawn by the caller (core/plot/depth_preview.ts);
 * - ply: a coloured point cloud in metres, from pinhole intrinsics (metric models only).
 */
import type { RasterU8 } from "../io/raster.ts";
import { writeNpy } from "../io/npy.ts";
import { writePng } from "../io/png.ts";
import { writePly } from "../io/ply.ts";
import type { HeadKind } from "./model/config.ts";
import {
  asDepth,
  defaultIntrinsics,
  type Intrinsics,
  PNG16_UNITS,
  png16Values,
  pointCloud,
} from "./depth_encodings.ts";

export { type Intrinsics, PNG16_UNITS } from "./depth_encodings.ts";

export const SAVE_KINDS = ["npy", "png16", "color", "ply"] as const;
export type SaveKind = (typeof SAVE_KINDS)[number];

export interface SavedFiles {
  files: string[];
  /** What the colour preview's bar spans, in the model's unit. */
  colorRange?: unknown;
  /** The 16-bit PNG's unit, and how many pixels were clamped to its range. */
  png16?: { unit: string; clamped: number };
}

export interface SaveOptions {
  intrinsics?: Intrinsics;
  /** Draws the colour preview from the model's output (core/plot/depth_preview.ts). */
  preview: (values: Float32Array, rgb: RasterU8) => { image: RasterU8; range: unknown };
}

/**
 * Writes the requested outputs as `<base>.npy`, `<base>_depth16.png` (or `_disparity16.png`),
 * `<base>_color.png`, `<base>.ply`.
 */
export async function saveOutputs(
  base: string,
  values: Float32Array,
  rgb: RasterU8,
  kinds: readonly SaveKind[],
  head: HeadKind,
  options: SaveOptions,
): Promise<SavedFiles> {
  const { width, height } = rgb;
  const saved: SavedFiles = { files: [] };
  const depth = asDepth(values, head);
  for (const kind of kinds) {
    if (kind === "npy") {
      await writeNpy(`${base}.npy`, values, [height, width]);
      saved.files.push(`${base}.npy`);
    } else if (kind === "png16") {
      const { suffix, unit } = PNG16_UNITS[head];
      const { data, clamped } = png16Values(values);
      await writePng(`${base}${suffix}`, { width, height, channels: 1, data });
      saved.files.push(`${base}${suffix}`);
      saved.png16 = { unit, clamped };
    } else if (kind === "color") {
      const preview = options.preview(values, rgb);
      await writePng(`${base}_color.png`, preview.image);
      saved.colorRange = preview.range;
      saved.files.push(`${base}_color.png`);
    } else {
      const k = options.intrinsics ?? defaultIntrinsics(width, height);
      await writePly(`${base}.ply`, pointCloud(depth, rgb, k));
      saved.files.push(`${base}.ply`);
    }
  }
  return saved;
}
