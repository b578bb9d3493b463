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

export const SAVE_KINDS = ["npy", "png16", "color", "ply"] as const;
export type SaveKind = (typeof SAVE_KINDS)[number];

export interface Intrinsics {
  fx: number;
  fy: number;
  /** The principal point; the image centre when not given (as depth_to_pointcloud.py takes it). */
  cx?: number;
  cy?: number;
}

/**
 * The official depth_to_pointcloud.py's camera: f = 0.6·784 = 470.4 px on the image resized to 518×518,
 * principal point at the centre; here the same camera at the image's own size.
 */
export function defaultIntrinsics(width: number, height: number): Intrinsics {
  const f = 0.6 * 784;
  return { fx: (f * width) / 518, fy: (f * height) / 518, cx: width / 2, cy: height / 2 };
}

/** Depth in metres for display and point clouds: metric as is, relative disparity inverted. */
function asDepth(values: Float32Array, head: HeadKind): Float32Array {
  return head === "metric" ? values : values.map((d) => (d > 0 ? 1 / d : 0));
}

export function pointCloud(
  depth: Float32Array,
  rgb: RasterU8,
  k: Intrinsics,
): { positions: Float32Array; colors: Uint8Array } {
  const { width, height, channels } = rgb;
  const cx = k.cx ?? width / 2, cy = k.cy ?? height / 2;
  const positions = new Float32Array(width * height * 3);
  const colors = new Uint8Array(width * height * 3);
  let n = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const z = depth[v * width + u];
      if (!(z > 0) || !Number.isFinite(z)) continue;
      positions.set([((u - cx) / k.fx) * z, ((v - cy) / k.fy) * z, z], 3 * n);
      for (let c = 0; c < 3; c++) {
        colors[3 * n + c] = rgb.data[(v * width + u) * channels + (channels === 1 ? 0 : c)];
      }
      n++;
    }
  }
  return { positions: positions.subarray(0, 3 * n), colors: colors.subarray(0, 3 * n) };
}

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

/** The 16-bit PNG's unit per head: millimetres are depth; a relative head's output is not, and says so. */
export const PNG16_UNITS: Readonly<Record<HeadKind, { suffix: string; unit: string }>> = {
  metric: { suffix: "_depth16.png", unit: "millimetres" },
  relative: { suffix: "_disparity16.png", unit: "relative disparity × 1000 (no unit)" },
};

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
      let clamped = 0;
      const data = Uint16Array.from(values, (d) => {
        const v = Math.round(d * 1000);
        if (v > 65535) clamped++;
        return Math.min(65535, Math.max(0, v)) || 0;
      });
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
