/**
 * PyTorch's exact GELU, x·Φ(x) (nn.GELU() with approximate="none", DINOv2's MLP activation), on
 * kernels/activation.wgsl. The backward recomputes Φ from x, so the saved tensor is the input itself.
 */
import { byQuads, grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { texelShift, texelView, texelViewsApply } from "../../gpu/texel_view.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "read", "storage"] as const;
const GELU: KernelSpec = { file: "activation.wgsl", entry: "gelu", bindings: BINDINGS };
const GELU_BACKWARD: KernelSpec = { file: "activation.wgsl", entry: "gelu_backward", bindings: BINDINGS };
const TEXELS_BINDINGS = ["uniform", "texture", "texture", "storage"] as const;

/**
 * On a CPU adapter, where x's size is a multiple of 4, runs `kernel`'s *_texels twin with x and dy (x again
 * for the forward) read through texel views (core/gpu/texel_view.ts), and returns true.
 */
function dispatchTexels(
  rt: Runtime,
  kernel: KernelSpec,
  x: Tensor,
  dy: Tensor | undefined,
  out: Tensor,
): boolean {
  if (!texelViewsApply(rt, x.size)) return false;
  const shift = texelShift(rt, x.size);
  const views = [x, ...(dy ? [dy] : [])].map((t) => texelView(rt, t, shift));
  const spec = { ...kernel, entry: `${kernel.entry}_texels`, bindings: TEXELS_BINDINGS };
  rt.dispatch(
    spec,
    {},
    [x.size, 0, shift],
    [views[0], views[1] ?? views[0], out],
    grid1d(x.size / 4),
    kernel.entry,
  );
  for (const v of views) rt.pool.free(v);
  return true;
}

/** y = gelu(x) into a new tensor labelled `label`. */
export function geluForward(rt: Runtime, x: Tensor, label: string): Tensor {
  const y = rt.tensor(label, x.shape);
  if (dispatchTexels(rt, GELU, x, undefined, y)) return y;
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
  if (dispatchTexels(rt, GELU_BACKWARD, x, dy, dx)) return dx;
  const { kernel, grid } = byQuads(GELU_BACKWARD, x.size);
  rt.dispatch(kernel, {}, [x.size, 0], [x, dy, dx], grid, "gelu_backward");
  return dx;
}
