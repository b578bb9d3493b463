/**
 * Float64 reference of the official training loss, metric_depth/util/loss.py `SiLogLoss(lambd=0.5)`:
 * with g = log(target) − log(pred) over the masked pixels, loss = sqrt(mean(g²) − λ·mean(g)²) — the square root
 * of the variance-like term, not the term itself. train.py masks with `valid & depth ≥ min_depth & depth ≤
 * max_depth` (0.001 and 20 by default) and flattens the whole batch into one set of pixels.
 *
 * Gradient: ∂loss/∂pred_i = −(g_i − λ·mean(g)) / (n · loss · pred_i) on masked pixels, 0 elsewhere.
 */
import { TrompeError } from "../../core/errors.ts";
import type { SilogOptions } from "../../core/train/silog.ts";

export interface SilogResult {
  readonly loss: number;
  /** ∂loss/∂pred, same length as pred. */
  readonly grad: Float64Array;
  /** Masked pixels. With 0 the official loss is NaN; here loss is NaN and grad all zero: skip the batch. */
  readonly count: number;
}

/**
 * SiLog loss and its gradient w.r.t. `pred` (any layout; pred, target and valid are read element-wise).
 * `valid` (1 = usable) may be omitted when the target alone decides.
 */
export function silogLoss(
  pred: ArrayLike<number>,
  target: ArrayLike<number>,
  valid?: ArrayLike<number>,
  options: SilogOptions = {},
): SilogResult {
  const { minDepth = 0.001, maxDepth = 20, lambda = 0.5 } = options;
  const n = pred.length;
  if (target.length !== n || (valid !== undefined && valid.length !== n)) {
    throw new TrompeError(
      "shape-mismatch",
      `pred ${n}, target ${target.length}, valid ${valid?.length} values`,
    );
  }
  const mask = new Uint8Array(n);
  const g = new Float64Array(n);
  let count = 0, sum = 0, sumSq = 0;
  for (let i = 0; i < n; i++) {
    const t = target[i];
    if ((valid !== undefined && valid[i] !== 1) || !(t >= minDepth && t <= maxDepth)) continue;
    mask[i] = 1;
    g[i] = Math.log(t) - Math.log(pred[i]);
    count++;
    sum += g[i];
    sumSq += g[i] * g[i];
  }
  const grad = new Float64Array(n);
  if (count === 0) return { loss: NaN, grad, count };
  const mean = sum / count;
  const loss = Math.sqrt(sumSq / count - lambda * mean * mean);
  // At loss 0 (every log-ratio equal, λ = 1) the square root has no derivative; 0 is the subgradient we take.
  if (loss > 0) {
    for (let i = 0; i < n; i++) if (mask[i]) grad[i] = -(g[i] - lambda * mean) / (count * loss * pred[i]);
  }
  return { loss, grad, count };
}
