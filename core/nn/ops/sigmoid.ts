/**
 * scale·σ(x) on kernels/activation.wgsl: the metric head's output, `sigmoid(logits)·max_depth`. The backward
 * recomputes σ from the logits, the family's convention (the logits are what training keeps).
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "read", "storage"] as const;
const SIGMOID: KernelSpec = { file: "activation.wgsl", entry: "sigmoid_scaled", bindings: BINDINGS };
const SIGMOID_BACKWARD: KernelSpec = {
  file: "activation.wgsl",
  entry: "sigmoid_scaled_backward",
  bindings: BINDINGS,
};

/** out = scale·σ(x). */
export function sigmoidForward(rt: Runtime, x: Tensor, out: Tensor, scale = 1, label = "sigmoid"): void {
  if (out.size !== x.size) throw new TrompeError("shape-mismatch", `sigmoid: ${x.name} into ${out.name}`);
  rt.dispatch(SIGMOID, { SCALE: scale }, [x.size], [x, rt.unused, out], grid1d(x.size), label);
}

/** dx = dy·scale·σ(x)·(1 − σ(x)). */
export function sigmoidBackward(
  rt: Runtime,
  x: Tensor,
  dy: Tensor,
  dx: Tensor,
  scale = 1,
  label = "sigmoid_backward",
): void {
  if (dy.size !== x.size || dx.size !== x.size) {
    throw new TrompeError("shape-mismatch", `sigmoid backward: ${x.name}, ${dy.name}, ${dx.name}`);
  }
  rt.dispatch(SIGMOID_BACKWARD, { SCALE: scale }, [x.size], [x, dy, dx], grid1d(x.size), label);
}
