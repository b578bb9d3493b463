/**
 * What `deno task predict --save` writes for one image, each file atomically:
 * - npy: float32 H×W, the model's output at the image size (metres, or disparity for relative models);
 * - png16: uint16 millimetres (metric) or disparity·1000 (relative), clamped to 0..65535;
 * - color: the turbo preview of inverse depth with a scale bar under it (near at the left, far at the right;
 *   the bar's range in metres goes to the run record);
 * - ply: a coloured point cloud in metres, from pinhole intrinsics (metric models only).
 */
import type { RasterU8 } from "../io/raster.ts";
import { writeNpy } from "../io/npy.ts";
import { writePng } from "../io/png.ts";
import { writePly } from "../io/ply.ts";
import { colorizeDepth, turbo } from "../io/colormap.ts";
import type { HeadKind } from "./model/config.ts";

export const SAVE_KINDS = ["npy", "png16", "color", "ply"] as const;
export type SaveKind = (typeof SAVE_KINDS)[number];

export interface Intrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
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

/** The colour preview with a scale bar below: turbo from near (left) to far (right). */
export function colorWithScaleBar(depth: Float32Array, width: number, height: number): RasterU8 {
  const valid = depth.map((d) => (d > 0 && Number.isFinite(d) ? 1 : 0));
  const image = colorizeDepth(depth, Uint8Array.from(valid), width, height);
  const bar = Math.max(6, Math.round(height / 24));
  const gap = 2;
  const data = new Uint8Array(width * (height + gap + bar) * 3);
  data.set(image.data);
  for (let x = 0; x < width; x++) {
    // colorizeDepth maps inverse depth: t = 1 is the nearest, so the bar runs from 1 down to 0.
    const rgb = turbo(1 - x / Math.max(width - 1, 1));
    for (let y = height + gap; y < height + gap + bar; y++) data.set(rgb, (y * width + x) * 3);
  }
  return { width, height: height + gap + bar, channels: 3, data };
}

/** The range the colour bar spans: the 2nd and 98th percentiles of inverse depth, as metres. */
export function colorRange(depth: Float32Array): { near: number; far: number } {
  const inverse = [...depth].filter((d) => d > 0 && Number.isFinite(d)).map((d) => 1 / d).sort((a, b) =>
    a - b
  );
  if (inverse.length === 0) return { near: 0, far: 0 };
  const lo = inverse[Math.floor(inverse.length * 0.02)];
  const hi = inverse[Math.floor((inverse.length - 1) * 0.98)];
  return { near: 1 / hi, far: 1 / lo };
}

export function pointCloud(
  depth: Float32Array,
  rgb: RasterU8,
  k: Intrinsics,
): { positions: Float32Array; colors: Uint8Array } {
  const { width, height, channels } = rgb;
  const positions = new Float32Array(width * height * 3);
  const colors = new Uint8Array(width * height * 3);
  let n = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const z = depth[v * width + u];
      if (!(z > 0) || !Number.isFinite(z)) continue;
      positions.set([((u - k.cx) / k.fx) * z, ((v - k.cy) / k.fy) * z, z], 3 * n);
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
  colorRange?: { near: number; far: number };
}

/** Writes the requested outputs as `<base>.npy`, `<base>_depth16.png`, `<base>_color.png`, `<base>.ply`. */
export async function saveOutputs(
  base: string,
  values: Float32Array,
  rgb: RasterU8,
  kinds: readonly SaveKind[],
  head: HeadKind,
  intrinsics?: Intrinsics,
): Promise<SavedFiles> {
  const { width, height } = rgb;
  const saved: SavedFiles = { files: [] };
  const depth = asDepth(values, head);
  for (const kind of kinds) {
    if (kind === "npy") {
      await writeNpy(`${base}.npy`, values, [height, width]);
      saved.files.push(`${base}.npy`);
    } else if (kind === "png16") {
      const data = Uint16Array.from(values, (d) => Math.min(65535, Math.max(0, Math.round(d * 1000))) || 0);
      await writePng(`${base}_depth16.png`, { width, height, channels: 1, data });
      saved.files.push(`${base}_depth16.png`);
    } else if (kind === "color") {
      await writePng(`${base}_color.png`, colorWithScaleBar(depth, width, height));
      saved.colorRange = colorRange(depth);
      saved.files.push(`${base}_color.png`);
    } else {
      await writePly(`${base}.ply`, pointCloud(depth, rgb, intrinsics ?? defaultIntrinsics(width, height)));
      saved.files.push(`${base}.ply`);
    }
  }
  return saved;
}
