/** The TypeScript side of kernels/reduce.wgsl: sums over the rows or the columns of a [rows, cols] matrix. */
import type { KernelSpec } from "./kernels.ts";
import { f32 } from "./params.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { texelShift, texelView, texelViewsApply } from "./texel_view.ts";
import { TrompeError } from "../errors.ts";

const WG = 256;
const BINDINGS = ["uniform", "read", "storage"] as const;
const SUM_ROWS: KernelSpec = { file: "reduce.wgsl", entry: "sum_rows", bindings: BINDINGS };
const SUM_ROWS_TEXELS: KernelSpec = {
  ...SUM_ROWS,
  entry: "sum_rows_texels",
  bindings: ["uniform", "texture", "storage"],
};
const SUM_COLS: KernelSpec = { file: "reduce.wgsl", entry: "sum_cols", bindings: BINDINGS };

export interface ReduceOptions {
  alpha?: number;
  /** Add into `out` instead of overwriting it. */
  accumulate?: boolean;
  label?: string;
}

function check(x: Tensor, rows: number, cols: number, out: Tensor, outSize: number): void {
  if (x.size < rows * cols || out.size < outSize) {
    throw new TrompeError(
      "shape-mismatch",
      `reduce ${x.name} as ${rows}×${cols} into ${out.name} (${out.size})`,
    );
  }
}

/** out[c] = alpha·Σ_r x[r, c] */
export function sumRows(
  rt: Runtime,
  x: Tensor,
  rows: number,
  cols: number,
  out: Tensor,
  o: ReduceOptions = {},
): void {
  check(x, rows, cols, out, cols);
  const accumulate = o.accumulate ?? false;
  const label = o.label ?? "sum_rows";
  if (cols % 4 === 0 && texelViewsApply(rt, x.size)) {
    // On a CPU adapter, four columns an invocation from a texel view (core/gpu/texel_view.ts); 8-lane
    // workgroups where there are few columns, so both threads get some (384 columns are 12 groups).
    const quads = cols / 4;
    const wg = quads > 2048 ? 64 : 8;
    const shift = texelShift(rt, x.size);
    const view = texelView(rt, x, shift);
    const params = [rows, cols, f32(o.alpha ?? 1), shift];
    rt.dispatch(SUM_ROWS_TEXELS, { WG: wg, ACCUMULATE: accumulate }, params, [view, out], [
      Math.ceil(quads / wg),
    ], label);
    rt.pool.free(view);
    return;
  }
  rt.dispatch(
    SUM_ROWS,
    { WG, ACCUMULATE: accumulate },
    [rows, cols, f32(o.alpha ?? 1), 0],
    [x, out],
    [Math.ceil(cols / WG)],
    label,
  );
}

/** out[r] = alpha·Σ_c x[r, c] */
export function sumCols(
  rt: Runtime,
  x: Tensor,
  rows: number,
  cols: number,
  out: Tensor,
  o: ReduceOptions = {},
): void {
  check(x, rows, cols, out, rows);
  rt.dispatch(
    SUM_COLS,
    { WG, ACCUMULATE: o.accumulate ?? false },
    [rows, cols, f32(o.alpha ?? 1), 0],
    [x, out],
    [Math.min(rows, 65535), Math.ceil(rows / 65535)],
    o.label ?? "sum_cols",
  );
}
