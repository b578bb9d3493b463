/**
 * How the training graph's backward hands over parameter gradients (the `GradientSink`), and the small
 * helpers every stage of it shares.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { LinearWeights } from "../ops/linear.ts";
import { release } from "../ops/release.ts";

/** Where the backward puts parameter gradients. */
export interface GradientSink {
  /** A zeroed gradient buffer for `key`, made on first request; undefined for a frozen parameter. */
  grad(key: string): Tensor | undefined;
  /** Every contribution to `key`'s gradient is recorded and its weight is read no more this step. */
  complete(key: string): void;
}

export const HEAD = "depth_head";

/** Tensors a stage owns and frees after its backward (its inputs belong to the stage before it). */
export function freeOwned(rt: Runtime, owned: readonly (Tensor | undefined)[]): void {
  const live = owned.filter((t): t is Tensor => t !== undefined);
  if (live.length > 0) release(rt, ...new Set(live));
}

export function linearGrads(sink: GradientSink, prefix: string): LinearWeights | undefined {
  const weight = sink.grad(`${prefix}.weight`);
  return weight && { weight, bias: sink.grad(`${prefix}.bias`) };
}

export function affineGrads(sink: GradientSink, prefix: string) {
  const weight = sink.grad(`${prefix}.weight`);
  const bias = sink.grad(`${prefix}.bias`);
  return weight && bias ? { weight, bias } : undefined;
}

export function completeAll(sink: GradientSink, keys: readonly string[]): void {
  for (const key of keys) sink.complete(key);
}
