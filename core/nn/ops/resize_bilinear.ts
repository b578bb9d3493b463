/**
 * Bilinear resize with align_corners=True on the last two axes (the DPT fusion blocks, the upsampling to
 * 14·patches, and `infer_image`'s resize back to the image size), and its adjoint for the backward.
 * The float64 reference is core/nn/resize_ref.ts.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import { numel, type Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "storage"] as const;
const FORWARD: KernelSpec = { file: "resize.wgsl", entry: "bilinear", bindings: BINDINGS };
const ADJOINT: KernelSpec = { file: "resize.wgsl", entry: "bilinear_adjoint", bindings: BINDINGS };

/** The backward needs shapes only. */
export interface ResizeSaved {
  inShape: readonly number[];
  /** [outH, outW]. */
  size: readonly [number, number];
}

function dispatch(
  rt: Runtime,
  spec: KernelSpec,
  src: Tensor,
  dst: Tensor,
  saved: ResizeSaved,
  accumulate: boolean,
  label: string,
  chunk = 1,
): void {
  const { inShape, size } = saved;
  const inH = inShape[inShape.length - 2];
  const inW = inShape[inShape.length - 1];
  const planes = numel(inShape) / (inH * inW);
  const [x, y] = grid1d(spec === FORWARD ? size[0] * size[1] : numel(inShape));
  rt.dispatch(
    spec,
    { ACCUMULATE: accumulate },
    [planes, inH, inW, ...size, chunk],
    [src, dst],
    [x, y, spec === FORWARD ? Math.ceil(planes / chunk) : 1],
    label,
  );
}

/**
 * y [..., outH, outW] from x [..., H, W], pooled as `act/<name>`. Each invocation takes
 * `planesPerInvocation` planes (kernels/resize.wgsl): by default all of them on a CPU adapter, one each on a
 * GPU, which wants its threads many.
 */
export function resizeBilinearForward(
  rt: Runtime,
  x: Tensor,
  size: readonly [number, number],
  name: string,
  planesPerInvocation?: number,
): { y: Tensor; saved: ResizeSaved } {
  const [outH, outW] = size;
  if (!(outH >= 1 && outW >= 1)) throw new TrompeError("bad-argument", `${name}: output ${outH}×${outW}`);
  if (x.shape.length < 2) throw new TrompeError("shape-mismatch", `${name}: input [${x.shape}]`);
  const saved: ResizeSaved = { inShape: x.shape, size: [outH, outW] };
  const y = rt.tensor(`act/${name}`, [...x.shape.slice(0, -2), outH, outW]);
  const planes = x.size / (x.shape[x.shape.length - 2] * x.shape[x.shape.length - 1]);
  dispatch(rt, FORWARD, x, y, saved, false, name, planesPerInvocation ?? (rt.ctx.isCpu ? planes : 1));
  return { y, saved };
}

/**
 * Backward of `resizeBilinearForward`: dx = adjoint(dy) as a new `grads/act/<name>/dx`, or added into
 * `into.dx` with `into.accumulate`.
 */
export function resizeBilinearBackward(
  rt: Runtime,
  saved: ResizeSaved,
  dy: Tensor,
  name: string,
  into?: { dx: Tensor; accumulate?: boolean },
): Tensor {
  const dx = into?.dx ?? rt.tensor(`grads/act/${name}/dx`, saved.inShape);
  if (dx.size !== numel(saved.inShape)) {
    throw new TrompeError("shape-mismatch", `${name}: gradient ${dx.name}`);
  }
  dispatch(rt, ADJOINT, dy, dx, saved, into?.accumulate ?? false, `${name}.backward`);
  return dx;
}
