/**
 * ReLU on kernels/activation.wgsl: the relative head's output, and standalone where no conv fuses it
 * (conv2d.ts fuses it on a conv's input or output). The backward needs only where the input was positive,
 * which the output says as well, so either may be kept.
 */
import { byQuads, grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "read", "storage"] as const;
const RELU: KernelSpec = { file: "activation.wgsl", entry: "relu", bindings: BINDINGS };
const RELU_BACKWARD: KernelSpec = { file: "activation.wgsl", entry: "relu_backward", bindings: BINDINGS };

/** out = max(x, 0); `out` may be x itself. */
export function reluForward(rt: Runtime, x: Tensor, out: Tensor, label = "relu"): void {
  if (out.size !== x.size) throw new TrompeError("shape-mismatch", `relu: ${x.name} into ${out.name}`);
  const { kernel, grid } = byQuads(RELU, x.size);
  rt.dispatch(kernel, {}, [x.size], [x, rt.unused, out], grid, label);
}

/** dx = dy where ref > 0, else 0; ref is the ReLU's input or its output. */
export function reluBackward(
  rt: Runtime,
  ref: Tensor,
  dy: Tensor,
  dx: Tensor,
  label = "relu_backward",
): void {
  if (dy.size !== ref.size || dx.size !== ref.size) {
    throw new TrompeError("shape-mismatch", `relu backward: ${ref.name}, ${dy.name}, ${dx.name}`);
  }
  rt.dispatch(RELU_BACKWARD, {}, [ref.size], [ref, dy, dx], grid1d(ref.size), label);
}
