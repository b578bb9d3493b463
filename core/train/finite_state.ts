/**
 * The check before every save of a training run. The loss is checked before each step's backward, but AdamW
 * runs inside the backward and can still push weights or moments to infinity after a finite loss (a huge
 * learning rate does): so the weights and both moments are checked on the CPU copy about to be written, and a
 * run whose state is no longer finite stops without writing anything — the last save, which passed the same
 * check, stays the run's latest, best and resume point.
 */
import { TrompeError } from "../errors.ts";
import { describeNonFinite, nonFiniteNames } from "../nn/model/finite.ts";
import type { StateDict } from "../nn/model/checkpoint.ts";
import type { Moments } from "./train_state.ts";

export interface LastSave {
  /** The step the run's files were last saved at, or null when this run has not saved yet. */
  step: number | null;
  out: string;
  lr: number;
}

export function requireFiniteState(weights: StateDict, moments: Moments, step: number, last: LastSave): void {
  const tensors: [string, { data: Float32Array }][] = [...weights];
  for (const [key, { m, v }] of moments) {
    tensors.push([`adam/${key}.m`, { data: m }], [`adam/${key}.v`, { data: v }]);
  }
  const bad = nonFiniteNames(tensors);
  if (bad.length === 0) return;
  const kept = last.step === null
    ? "no checkpoint had been saved yet"
    : `the last finite checkpoint (step ${last.step}) stays`;
  throw new TrompeError(
    "bad-argument",
    `the model diverged by step ${step}: ${describeNonFinite(bad, tensors.length)}; ` +
      `training stopped and nothing was saved; ${kept}`,
    { subject: last.out, hint: `lower --lr (now ${last.lr}), then --resume or start again` },
  );
}
