/**
 * What evaluation needs of a depth model: a name, what its output means, and RGB in → depth map out. The
 * WebGPU model, an ONNX export, or a test's stand-in all fit behind it, so the evaluation, probe and reports
 * never depend on how depth was predicted.
 */
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { HeadKind } from "../nn/model/config.ts";
import { type DepthEngine, inferDepth } from "../nn/predict.ts";
import { bilinearAlignCorners } from "../nn/resize_ref.ts";

export interface DepthPrediction {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** A model as the evaluation sees it: a name, what it predicts, and depth for an image. */
export interface DepthEstimator {
  /** Shown in reports and used in file names. */
  readonly name: string;
  /** "depth": metric metres (metric head); "disparity": relative, ∝ inverse depth up to scale and shift. */
  readonly kind: "depth" | "disparity";
  /** Depth for one image, at any size (evaluation resizes it to the ground truth with align_corners). */
  predict(rgb: RasterU8): Promise<DepthPrediction>;
  dispose?(): void;
}

/** The prediction at width × height, by the official bilinear align_corners resize when sizes differ. */
export function atSize(pred: DepthPrediction, width: number, height: number): Float32Array {
  if (pred.data.length !== pred.width * pred.height) {
    throw new TrompeError(
      "shape-mismatch",
      `prediction has ${pred.data.length} values for ${pred.width}×${pred.height}`,
    );
  }
  if (pred.width === width && pred.height === height) return pred.data;
  return Float32Array.from(
    bilinearAlignCorners(Float64Array.from(pred.data), 1, pred.height, pred.width, height, width),
  );
}

/**
 * Metric depth from a relative model's disparity: the scale s and shift t minimising ‖s·d + t − 1/gt‖² over
 * the masked pixels (the usual alignment for affine-invariant models), then depth = 1/(s·d + t). Pixels whose
 * aligned disparity is not positive get +Infinity (infinitely far), which every metric treats as wrong.
 */
export function alignDisparity(
  disparity: Float32Array,
  gt: ArrayLike<number>,
  mask: ArrayLike<number>,
): Float32Array {
  let n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (let i = 0; i < disparity.length; i++) {
    if (!mask[i]) continue;
    const x = disparity[i], y = 1 / gt[i];
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const det = n * sxx - sx * sx;
  const s = det !== 0 ? (n * sxy - sx * sy) / det : 0;
  const t = n > 0 ? (sy - s * sx) / n : 1;
  return disparity.map((d) => {
    const aligned = s * d + t;
    return aligned > 0 ? 1 / aligned : Infinity;
  });
}

/**
 * A model on one of trompe's engines (the WGSL model, an ONNX export) as an estimator: the official inference
 * path (image2tensor at `inputSize`, forward, align_corners back to the image size).
 */
export function engineEstimator(
  name: string,
  engine: DepthEngine,
  head: HeadKind,
  inputSize: number,
): DepthEstimator {
  return {
    name,
    kind: head === "metric" ? "depth" : "disparity",
    async predict(rgb) {
      const { depth, width, height } = await inferDepth(engine, rgb, inputSize);
      return { data: depth, width, height };
    },
    dispose: () => engine.dispose(),
  };
}

/**
 * `estimator` with its predictions remembered by image content: a model evaluated twice on the same frames
 * (the demo's starting model, before fine-tuning and again beside the fine-tuned one) runs once per frame.
 */
export function remembering(estimator: DepthEstimator): DepthEstimator {
  const seen = new Map<string, Promise<DepthPrediction>>();
  const key = (rgb: RasterU8) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < rgb.data.length; i++) h = Math.imul(h ^ rgb.data[i], 0x01000193);
    return `${rgb.width}x${rgb.height}:${h >>> 0}`;
  };
  return {
    name: estimator.name,
    kind: estimator.kind,
    predict(rgb) {
      const k = key(rgb);
      let hit = seen.get(k);
      if (!hit) seen.set(k, hit = estimator.predict(rgb));
      return hit;
    },
    dispose: () => estimator.dispose?.(),
  };
}
