/**
 * LayerNorm over the channel axis of tokens (eps 1e-6 in DINOv2), on kernels/layernorm.wgsl. The forward
 * saves each row's mean and 1/std (rows floats each), so the backward never recomputes the statistics.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import { f32 } from "../../gpu/params.ts";
import { texelShift, texelView } from "../../gpu/texel_view.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "read", "read", "storage", "storage", "storage", "storage"] as const;
const FORWARD: KernelSpec = { file: "layernorm.wgsl", entry: "forward", bindings: BINDINGS };
const BACKWARD_INPUT: KernelSpec = { file: "layernorm.wgsl", entry: "backward_input", bindings: BINDINGS };
/** The row kernels read x, dy and the affine weights (and an accumulated gradient) through texel views. */
const ROWS_BINDINGS = [
  "uniform",
  "texture",
  "texture",
  "texture",
  "storage",
  "storage",
  "storage",
  "texture",
] as const;
const FORWARD_ROWS: KernelSpec = { file: "layernorm.wgsl", entry: "forward_rows", bindings: ROWS_BINDINGS };
const BACKWARD_INPUT_ROWS: KernelSpec = { ...FORWARD_ROWS, entry: "backward_input_rows" };
const BACKWARD_PARAMS_ROWS: KernelSpec = {
  file: "layernorm.wgsl",
  entry: "backward_params_rows",
  bindings: ["uniform", "texture", "texture", "read", "storage", "storage", "storage", "storage"],
};
const BACKWARD_PARAMS: KernelSpec = { file: "layernorm.wgsl", entry: "backward_params", bindings: BINDINGS };
/** Columns per workgroup of backward_params (WG_C in the kernel). */
const PARAM_COLUMNS = 16;

export const DINOV2_EPS = 1e-6;

/**
 * Invocations per row (the kernel's WG): 128 on a GPU; 8 on a CPU adapter, where a workgroup is one thread
 * and its 8 lanes one SIMD group, so 128 invocations are 16 groups stepping through seven barriers for a
 * row of a few hundred values. At the demo's 64 columns the 128-wide row took about 1 ms on lavapipe.
 */
function rowWidth(rt: Runtime): { WG: number } {
  return { WG: rt.ctx.isCpu ? 8 : 128 };
}

/**
 * Whether the row kernels run (forward_rows, backward_input_rows, backward_params_rows: a row, or four
 * columns, an invocation over vec4s read from texel views, no barriers, which a CPU rasteriser runs as
 * coroutines) rather than the workgroup ones: on a CPU adapter, at any size (at the demo model's 26×64
 * tokens a per-channel multiply and a LayerNorm took 0.68–0.93 ms by views, 0.55–0.87 ms by buffers).
 */
function byRows(rt: Runtime, cols: number): boolean {
  return rt.ctx.isCpu && cols % 4 === 0;
}

export interface AffineWeights {
  weight: Tensor;
  bias: Tensor;
}

/** What the backward needs besides x: per-row statistics, [rows] each. */
export interface LayerNormSaved {
  mean: Tensor;
  rstd: Tensor;
}

function rowsGrid(rows: number): [number, number] {
  return rows <= 65535 ? [rows, 1] : [65535, Math.ceil(rows / 65535)];
}

function geometry(x: Tensor, w: AffineWeights): { rows: number; cols: number } {
  const cols = x.shape[x.shape.length - 1];
  if (w.weight.size !== cols || w.bias.size !== cols) {
    throw new TrompeError(
      "shape-mismatch",
      `layernorm over ${cols} channels with ${w.weight.name} (${w.weight.size}), ${w.bias.name} (${w.bias.size})`,
    );
  }
  return { rows: x.size / cols, cols };
}

/** y = LayerNorm(x) over the last axis, into a new tensor `label`; statistics into `label/mean|rstd`. */
export function layerNormForward(
  rt: Runtime,
  x: Tensor,
  w: AffineWeights,
  label: string,
  eps = DINOV2_EPS,
): { y: Tensor; saved: LayerNormSaved } {
  const { rows, cols } = geometry(x, w);
  const y = rt.tensor(label, x.shape);
  const mean = rt.tensor(`${label}/mean`, [rows]);
  const rstd = rt.tensor(`${label}/rstd`, [rows]);
  if (byRows(rt, cols)) {
    const shift = texelShift(rt, x.size);
    const views = [x, w.weight, w.bias].map((t) => texelView(rt, t, shift));
    const bindings = [...views, mean, rstd, y, views[0]];
    rt.dispatch(FORWARD_ROWS, {}, [rows, cols, f32(eps), shift], bindings, grid1d(rows, 8), "layernorm");
    for (const v of views) rt.pool.free(v);
  } else {
    const bindings = [x, w.weight, w.bias, mean, rstd, y, rt.unused];
    rt.dispatch(FORWARD, rowWidth(rt), [rows, cols, f32(eps), 0], bindings, rowsGrid(rows), "layernorm");
  }
  return { y, saved: { mean, rstd } };
}

/**
 * Backward of `layerNormForward`: accumulates dγ, dβ into `grads` (absent for a frozen norm; summed, since a
 * weight's gradient gathers every use of it) and returns dx; with
 * `dxInto`, dx is added into that tensor instead (a residual stream's gradient) and it is returned.
 */
export function layerNormBackward(
  rt: Runtime,
  x: Tensor,
  w: AffineWeights,
  saved: LayerNormSaved,
  dy: Tensor,
  grads: AffineWeights | undefined,
  label: string,
  dxInto?: Tensor,
): Tensor {
  const { rows, cols } = geometry(x, w);
  if (dy.size !== x.size || (dxInto && dxInto.size !== x.size)) {
    throw new TrompeError(
      "shape-mismatch",
      `layernorm backward: dy ${dy.name} [${dy.shape}] vs x [${x.shape}]`,
    );
  }
  if (grads && byRows(rt, cols)) {
    const shift = texelShift(rt, x.size);
    const views = [x, dy].map((t) => texelView(rt, t, shift));
    rt.dispatch(
      BACKWARD_PARAMS_ROWS,
      { ACCUMULATE: true },
      [rows, cols, f32(0), shift],
      [...views, rt.unused, saved.mean, saved.rstd, grads.weight, grads.bias],
      [Math.ceil(cols / 4 / 8)],
      "layernorm_backward_params",
    );
    for (const v of views) rt.pool.free(v);
  } else if (grads) {
    rt.dispatch(
      BACKWARD_PARAMS,
      { ACCUMULATE: true },
      [rows, cols, f32(0), 0],
      [x, dy, rt.unused, saved.mean, saved.rstd, grads.weight, grads.bias],
      [Math.ceil(cols / PARAM_COLUMNS)],
      "layernorm_backward_params",
    );
  }
  const dx = dxInto ?? rt.tensor(label, x.shape);
  const accumulate = dxInto !== undefined;
  if (byRows(rt, cols)) {
    const shift = texelShift(rt, x.size);
    // With ACCUMULATE the gradient added to is read from a view too (taken before the kernel writes dx).
    const views = [x, dy, w.weight, ...(accumulate ? [dx] : [])].map((t) => texelView(rt, t, shift));
    rt.dispatch(
      BACKWARD_INPUT_ROWS,
      { ACCUMULATE: accumulate },
      [rows, cols, f32(0), shift],
      [views[0], views[1], views[2], saved.mean, saved.rstd, dx, views[3] ?? views[0]],
      grid1d(rows, 8),
      "layernorm_backward_input",
    );
    for (const v of views) rt.pool.free(v);
  } else {
    rt.dispatch(
      BACKWARD_INPUT,
      { ...rowWidth(rt), ACCUMULATE: accumulate },
      [rows, cols, f32(0), 0],
      [x, dy, w.weight, saved.mean, saved.rstd, dx, rt.unused],
      rowsGrid(rows),
      "layernorm_backward_input",
    );
  }
  return dx;
}
