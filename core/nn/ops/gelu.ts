/**
 * PyTorch's exact GELU, x·Φ(x) (nn.GELU() with approximate="none", DINOv2's MLP activation), on
 * kernels/activation.wgsl. The backward recomputes Φ from x, so the saved tensor is the input itself.
 */
import { byQuads } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "read", "storage"] as const;
const GELU: KernelSpec = { file: "activation.wgsl", entry: "gelu", bindings: BINDINGS };
const GELU_BACKWARD: KernelSpec = { file: "activation.wgsl", entry: "gelu_backward", bindings: BINDINGS };

/** y = gelu(x) into a new tensor labelled `label`. */
export function geluForward(rt: Runtime, x: Tensor, label: string): Tensor {
  const y = rt.tensor(label, x.shape);
  const { kernel, grid } = byQuads(GELU, x.size);
  rt.dispatch(kernel, {}, [x.size, 0], [x, rt.unused, y], grid, "gelu");
  return y;
}

/** dx = dy·gelu'(x), from the forward's input x. */
export function geluBackward(rt: Runtime, x: Tensor, dy: Tensor, label: string): Tensor {
  if (dy.size !== x.size) {
    throw new TrompeError("shape-mismatch", `gelu backward: dy ${dy.name} [${dy.shape}] vs x [${x.shape}]`);
  }
  const dx = rt.tensor(label, x.shape);
  const { kernel, grid } = byQuads(GELU_BACKWARD, x.size);
  rt.dispatch(kernel, {}, [x.size, 0], [x, dy, dx], grid, "gelu_backward");
  return dx;
}
