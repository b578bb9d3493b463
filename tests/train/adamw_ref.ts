/**
 * Float64 reference of one AdamW step on the CPU, in place: torch's `_single_tensor_adamw` line for line, and
 * what the GPU kernel (core/train/adamw.ts) is tested against.
 */
import { type AdamWOptions, adamwScalars, OFFICIAL_ADAMW } from "../../core/train/adamw.ts";

export function adamwStepF64(
  param: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  step: number,
  lr: number,
  o: AdamWOptions = OFFICIAL_ADAMW,
): void {
  const s = adamwScalars(o, lr, step);
  for (let i = 0; i < param.length; i++) {
    const g = grad[i];
    param[i] *= 1 - s.decay;
    m[i] += s.lerp * (g - m[i]);
    v[i] = s.beta2 * v[i] + s.oneMinusBeta2 * g * g;
    param[i] -= (s.stepSize * m[i]) / (Math.sqrt(v[i]) / s.bc2Sqrt + s.eps);
  }
}
