/**
 * One ground-truth frame as every consumer (training, augmentation, evaluation) sees it, whatever dataset it
 * came from.
 */
import type { RasterU8 } from "../io/raster.ts";
import type { DatasetName } from "./datasets.ts";

/** Pinhole intrinsics in pixels of the frame's own resolution. */
export interface Intrinsics {
  fx: number;
  fy: number;
  cx: number;
  cy: number;
}

/** One frame of a dataset: RGB, planar depth in metres, its valid mask and the camera. */
export interface Sample {
  /** Stable identity (e.g. `ai_001_001/cam_00/0000`, `Scene01/clone/Camera_0/00000`): seeds hash from it. */
  id: string;
  dataset: DatasetName;
  /** 8-bit RGB, channels 3. */
  rgb: RasterU8;
  /**
   * Planar depth in metres, H×W row-major. `valid` is the only word on which pixels count: where the dataset
   * stores no depth the value is NaN (Hypersim rays that hit nothing) or the stored value in metres, as the
   * official loaders keep it (vKITTI2 sky: 65535 cm = 655.35 m), so writing a sample back is lossless.
   */
  depth: Float32Array;
  /** 1 where depth is ground truth (Hypersim: not NaN; vKITTI2: not sky and ≤ maxDepth), else 0. */
  valid: Uint8Array;
  width: number;
  height: number;
  intrinsics: Intrinsics;
  rgbPath: string;
  depthPath: string;
}
