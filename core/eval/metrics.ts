/**
 * The official depth metrics: metric_depth/util/metric.py `eval_depth` and the evaluation loop of
 * metric_depth/train.py (prediction resized to the ground truth with bilinear align_corners=True, mask =
 * valid & min_depth ≤ d ≤ max_depth, images with fewer than 10 masked pixels skipped, per-image metrics averaged
 * over images).
 *
 * Two details of the official numbers are kept on purpose: d1/d2/d3 are float32 values (`eval_depth` counts with
 * `.float()`, so even float64 inputs give a float32 ratio), and silog subtracts 0.5·mean² before the square
 * root. One is not: train.py accumulates the per-image metrics in float32 CUDA tensors; here the average over
 * images is float64 (the difference is float32 rounding, ~1e-7 relative).
 */
import { TrompeError } from "../errors.ts";
import { bilinearAlignCorners } from "../nn/resize_ref.ts";

/** The official depth metrics, in the official order. */
export const METRIC_NAMES = [
  "d1",
  "d2",
  "d3",
  "abs_rel",
  "sq_rel",
  "rmse",
  "rmse_log",
  "log10",
  "silog",
] as const;
/** One of the official depth metrics. */
export type MetricName = typeof METRIC_NAMES[number];
/** The official metrics of one image or a mean over images. */
export type DepthMetrics = Record<MetricName, number>;

/** The official defaults (train.py `--min-depth 0.001 --max-depth 20`; vKITTI uses max depth 80). */
export interface DepthRange {
  readonly minDepth?: number;
  readonly maxDepth?: number;
}

/** `eval_depth(pred, target)` on the masked pixels only (both strictly positive). */
export function evalDepth(pred: ArrayLike<number>, target: ArrayLike<number>): DepthMetrics {
  const n = pred.length;
  if (target.length !== n) {
    throw new TrompeError("shape-mismatch", `pred has ${n} values, target ${target.length}`);
  }
  if (n === 0) throw new TrompeError("bad-argument", "eval_depth needs at least one pixel");
  let c1 = 0, c2 = 0, c3 = 0;
  let absRel = 0, sqRel = 0, sq = 0, sqLog = 0, sumLog = 0, log10 = 0;
  for (let i = 0; i < n; i++) {
    const p = pred[i];
    const t = target[i];
    const thresh = Math.max(t / p, p / t);
    if (thresh < 1.25) c1++;
    if (thresh < 1.25 ** 2) c2++;
    if (thresh < 1.25 ** 3) c3++;
    const diff = p - t;
    const diffLog = Math.log(p) - Math.log(t);
    absRel += Math.abs(diff) / t;
    sqRel += diff * diff / t;
    sq += diff * diff;
    sqLog += diffLog * diffLog;
    sumLog += diffLog;
    log10 += Math.abs(Math.log10(p) - Math.log10(t));
  }
  const meanLog = sumLog / n;
  return {
    d1: Math.fround(c1 / n),
    d2: Math.fround(c2 / n),
    d3: Math.fround(c3 / n),
    abs_rel: absRel / n,
    sq_rel: sqRel / n,
    rmse: Math.sqrt(sq / n),
    rmse_log: Math.sqrt(sqLog / n),
    log10: log10 / n,
    silog: Math.sqrt(sqLog / n - 0.5 * meanLog * meanLog),
  };
}

/** A single-channel image, row-major. */
export interface DepthMap {
  readonly data: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
}

/** The official evaluation mask: valid (when given) and min_depth ≤ target ≤ max_depth (NaN never passes). */
export function evaluationMask(
  target: ArrayLike<number>,
  valid: ArrayLike<number> | undefined,
  range: DepthRange = {},
): Uint8Array {
  const { minDepth = 0.001, maxDepth = 20 } = range;
  const mask = new Uint8Array(target.length);
  for (let i = 0; i < target.length; i++) {
    const t = target[i];
    mask[i] = (valid === undefined || valid[i] === 1) && t >= minDepth && t <= maxDepth ? 1 : 0;
  }
  return mask;
}

/**
 * One image of train.py's evaluation: resize `pred` to the target with bilinear align_corners, mask, and
 * `eval_depth`; null when fewer than 10 pixels are masked (the official loop skips such images).
 */
export function evaluateImage(
  pred: DepthMap,
  target: DepthMap,
  valid?: ArrayLike<number>,
  range: DepthRange = {},
): DepthMetrics | null {
  const resized = pred.width === target.width && pred.height === target.height
    ? pred.data
    : bilinearAlignCorners(
      Float64Array.from(pred.data),
      1,
      pred.height,
      pred.width,
      target.height,
      target.width,
    );
  const mask = evaluationMask(target.data, valid, range);
  const p: number[] = [];
  const t: number[] = [];
  for (let i = 0; i < mask.length; i++) {
    if (mask[i]) {
      p.push(resized[i]);
      t.push(target.data[i]);
    }
  }
  return p.length < 10 ? null : evalDepth(p, t);
}

/** The average over evaluated images, as train.py reports it (skipped images are not counted). */
export class MetricsMean {
  #sums: DepthMetrics = Object.fromEntries(METRIC_NAMES.map((k) => [k, 0])) as DepthMetrics;
  #count = 0;

  add(metrics: DepthMetrics | null): void {
    if (metrics === null) return;
    for (const k of METRIC_NAMES) this.#sums[k] += metrics[k];
    this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** The mean of each metric; NaN for every metric when no image was evaluated. */
  mean(): DepthMetrics {
    return Object.fromEntries(METRIC_NAMES.map((k) => [k, this.#sums[k] / this.#count])) as DepthMetrics;
  }
}
