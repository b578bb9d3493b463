/**
 * Depth maps as coloured point clouds, the way the study looked at its models in CloudCompare: every pixel
 * with usable depth unprojected through the dataset's pinhole (X = (u − cx)·Z/fx, Y = (v − cy)·Z/fy, Z, in
 * metres, OpenCV camera axes: x right, y down, z forward) and coloured by its RGB. Ground truth and each model's
 * prediction of a frame come out in the same camera frame, so they overlay exactly.
 */
import type { PointCloud } from "../io/ply.ts";
import type { DepthRange } from "./metrics.ts";
import type { EvalFrame } from "./evaluate.ts";

/**
 * The frame's points for `depth` (H×W metres). Pixels count when `valid` (if given) is 1 and the depth is
 * finite and inside the evaluation range, so the sky and missing ground truth do not become a wall of points.
 */
export function frameCloud(
  frame: EvalFrame,
  depth: Float32Array,
  valid: Uint8Array | undefined,
  range: Required<DepthRange>,
): PointCloud {
  const { width, height, intrinsics: k, rgb } = frame;
  const positions = new Float32Array(width * height * 3);
  const colors = new Uint8Array(width * height * 3);
  let n = 0;
  for (let v = 0; v < height; v++) {
    for (let u = 0; u < width; u++) {
      const i = v * width + u;
      const z = depth[i];
      if ((valid && valid[i] !== 1) || !(z >= range.minDepth && z <= range.maxDepth)) continue;
      positions[3 * n] = ((u - k.cx) / k.fx) * z;
      positions[3 * n + 1] = ((v - k.cy) / k.fy) * z;
      positions[3 * n + 2] = z;
      for (let c = 0; c < 3; c++) {
        colors[3 * n + c] = rgb.data[i * rgb.channels + (rgb.channels === 1 ? 0 : c)];
      }
      n++;
    }
  }
  return { positions: positions.slice(0, 3 * n), colors: colors.slice(0, 3 * n) };
}
