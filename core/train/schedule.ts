/**
 * The official poly schedule. metric_depth/train.py steps the optimizer first and sets the rate for the
 * *next* step afterwards, from the index of the step just taken:
 *
 *     optimizer.step(); iters = epoch·len(loader) + i; lr = base·(1 − iters/total)^0.9
 *
 * so step 0 and step 1 both run at the base rate and step k ≥ 1 at base·(1 − (k−1)/total)^0.9. trompe
 * reproduces that offset, so a run matches the official trainer step for step.
 */
export const POLY_POWER = 0.9;

/** Encoder learning rate of global step `step` (0-based) of `total`. */
export function polyLr(base: number, step: number, total: number): number {
  if (step === 0) return base;
  return base * (1 - (step - 1) / total) ** POLY_POWER;
}
