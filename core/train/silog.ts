/**
 * The training loss on the GPU (kernels/loss.wgsl): SiLog, λ = 0.5, over valid & min_depth ≤ d ≤ max_depth,
 * forward and backward, numerically the float64 reference in tests/train/silog_ref.ts. The loss stays on the GPU
 * (`stats`: loss, mean log-ratio, pixel count) until the trainer reads it, so a step needs one readback.
 */
import { grid1d } from "../gpu/elementwise.ts";
import type { KernelSpec } from "../gpu/kernels.ts";
import { f32 } from "../gpu/params.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { TrompeError } from "../errors.ts";
const WG = 256;
/** Partial sums: enough workgroups to fill a GPU, few enough for one workgroup to finish them. */
const MAX_PARTS = 1024;

function spec(entry: string): KernelSpec {
  return {
    file: "loss.wgsl",
    entry,
    bindings: ["uniform", "read", "read", "read", "storage", "storage"],
  };
}
const PARTIALS = spec("silog_partials");
const FINISH = spec("silog_finish");
const BACKWARD = spec("silog_backward");

/** train.py's mask bounds (0.001, 20 by default) and SiLog's λ (0.5). */
export interface SilogOptions {
  readonly minDepth?: number;
  readonly maxDepth?: number;
  readonly lambda?: number;
}

export interface SilogInputs {
  /** The model's depth, any layout. */
  pred: Tensor;
  /** Ground truth in the same layout (NaN or out of range where unusable). */
  target: Tensor;
  /** u32, 1 = usable; omitted when the target alone decides. */
  valid?: Tensor;
}

export interface SilogForward {
  /** scratch: partial sums, then (loss, mean log-ratio, count) at `statsOffset`. */
  scratch: Tensor;
  statsOffset: number;
  parts: number;
}

function params(n: number, parts: number, o: SilogOptions) {
  const { minDepth = 0.001, maxDepth = 20, lambda = 0.5 } = o;
  return [n, parts, f32(minDepth), f32(maxDepth), f32(lambda)];
}

function check({ pred, target, valid }: SilogInputs): void {
  if (target.size !== pred.size || (valid && valid.size !== pred.size)) {
    throw new TrompeError(
      "shape-mismatch",
      `SiLog: pred [${pred.shape}], target [${target.shape}], valid [${valid?.shape ?? "none"}]`,
    );
  }
  if (valid && valid.dtype !== "u32") throw new TrompeError("bad-argument", `SiLog: valid must be u32`);
}

export function silogForward(rt: Runtime, inputs: SilogInputs, options: SilogOptions = {}): SilogForward {
  check(inputs);
  const n = inputs.pred.size;
  const parts = Math.min(MAX_PARTS, Math.max(1, Math.ceil(n / WG)));
  const scratch = rt.tensor("tmp/silog/scratch", [3 * parts + 3]);
  const constants = { WG, HAS_VALID: inputs.valid !== undefined };
  // Bindings a pass does not read still need a buffer of a usage that does not conflict: without a mask,
  // pred stands in for it (read-only); the forward's gradient slot is scratch again (read-write).
  const bindings = [inputs.pred, inputs.target, inputs.valid ?? inputs.pred, scratch, scratch];
  rt.dispatch(PARTIALS, constants, params(n, parts, options), bindings, [parts], "silog.partials");
  rt.dispatch(FINISH, constants, params(n, parts, options), bindings, [1], "silog.finish");
  return { scratch, statsOffset: 3 * parts, parts };
}

/** ∂loss/∂pred into a new tensor shaped like pred (all zero when no pixel counts). */
export function silogBackward(
  rt: Runtime,
  inputs: SilogInputs,
  forward: SilogForward,
  options: SilogOptions = {},
): Tensor {
  check(inputs);
  const n = inputs.pred.size;
  const grad = rt.tensor("grads/act/silog/dpred", inputs.pred.shape);
  rt.dispatch(
    BACKWARD,
    { WG, HAS_VALID: inputs.valid !== undefined },
    params(n, forward.parts, options),
    [inputs.pred, inputs.target, inputs.valid ?? inputs.pred, forward.scratch, grad],
    grid1d(n, WG),
    "silog.backward",
  );
  return grad;
}

export interface SilogValue {
  /** NaN when no pixel counts, as the official loss. */
  loss: number;
  /**
   * Mean log-ratio of the counted pixels. The loss clamps its radicand at 0 and WGSL's max may turn a NaN
   * into that 0, so a diverged model (depth 0, infinite or NaN) shows as a non-finite mean, not always as a
   * non-finite loss.
   */
  meanLogRatio: number;
  count: number;
}

/** Reads the loss back (the one readback of a training step). */
export async function readSilog(rt: Runtime, forward: SilogForward): Promise<SilogValue> {
  const all = await rt.read(forward.scratch);
  const at = forward.statsOffset;
  const count = all[at + 2];
  return { loss: count > 0 ? all[at] : NaN, meanLogRatio: count > 0 ? all[at + 1] : NaN, count };
}
