/**
 * The gate of DINOv2's SwiGLUFFNFused (ViT-g's feed-forward): x [.., 2H] = w12's output, y [.., H] =
 * silu(x[.., :H]) ⊙ x[.., H:], on kernels/activation.wgsl. The backward recomputes from x.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";

const BINDINGS = ["uniform", "read", "read", "storage"] as const;
const SWIGLU: KernelSpec = { file: "activation.wgsl", entry: "swiglu", bindings: BINDINGS };
const SWIGLU_BACKWARD: KernelSpec = { file: "activation.wgsl", entry: "swiglu_backward", bindings: BINDINGS };

export function swigluForward(rt: Runtime, x: Tensor, label: string): Tensor {
  const hidden = x.shape[x.shape.length - 1] / 2;
  const y = rt.tensor(label, [...x.shape.slice(0, -1), hidden]);
  rt.dispatch(SWIGLU, {}, [y.size, hidden], [x, rt.unused, y], grid1d(y.size), "swiglu");
  return y;
}

/** dx [.., 2H] from the forward's input x and dy [.., H]. */
export function swigluBackward(rt: Runtime, x: Tensor, dy: Tensor, label: string): Tensor {
  const dx = rt.tensor(label, x.shape);
  rt.dispatch(
    SWIGLU_BACKWARD,
    {},
    [dy.size, dy.shape[dy.shape.length - 1]],
    [x, dy, dx],
    grid1d(dy.size),
    "swiglu_backward",
  );
  return dx;
}
