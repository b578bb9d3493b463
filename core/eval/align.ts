/**
 * A prediction brought to the ground truth before it is scored: resized to the frame by the official
 * align_corners bilinear, and a relative model's disparity aligned to metric depth by scale and shift.
 */
import { TrompeError } from "../errors.ts";
import type { DepthPrediction } from "../nn/estimator.ts";
import { bilinearAlignCorners } from "../nn/resize_ref.ts";

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
