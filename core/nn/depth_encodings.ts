/**
 * How a depth map is written into each kind of output file — the numbers, not the files — shared by
 * `deno task predict` (core/nn/predict_outputs.ts) and the browser page: millimetres in a 16-bit PNG, a
 * point cloud through a pinhole camera.
 */
import type { RasterU8 } from "../io/raster.ts";
import type { HeadKind } from "./model/config.ts";

/** Pinhole intrinsics in pixels, for point clouds. */
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
export function asDepth(values: Float32Array, head: HeadKind): Float32Array {
  return head === "metric" ? values : values.map((d) => (d > 0 ? 1 / d : 0));
}

/** Depth in metres back-projected through a pinhole camera into coloured points; pixels without depth left out. */
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

/** The 16-bit PNG's unit per head: millimetres are depth; a relative head's output is not, and says so. */
export const PNG16_UNITS: Readonly<Record<HeadKind, { suffix: string; unit: string }>> = {
  metric: { suffix: "_depth16.png", unit: "millimetres" },
  relative: { suffix: "_disparity16.png", unit: "relative disparity × 1000 (no unit)" },
};

/** A model's output as 16-bit PNG values (see PNG16_UNITS: ×1000, rounded), and how many exceeded 65535. */
export function png16Values(values: Float32Array): { data: Uint16Array; clamped: number } {
  let clamped = 0;
  const data = Uint16Array.from(values, (d) => {
    const v = Math.round(d * 1000);
    if (v > 65535) clamped++;
    return Math.min(65535, Math.max(0, v)) || 0;
  });
  return { data, clamped };
}
