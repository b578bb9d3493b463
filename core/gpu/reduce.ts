/** The TypeScript side of kernels/reduce.wgsl: sums over the rows or the columns of a [rows, cols] matrix. */
import type { KernelSpec } from "./kernels.ts";
import { f32 } from "./params.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { TrompeError } from "../errors.ts";

const WG = 256;
const BINDINGS = ["uniform", "read", "storage"] as const;
const SUM_ROWS: KernelSpec = { file: "reduce.wgsl", entry: "sum_rows", bindings: BINDINGS };
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
  rt.dispatch(
    SUM_ROWS,
    { WG, ACCUMULATE: o.accumulate ?? false },
    [rows, cols, f32(o.alpha ?? 1)],
    [x, out],
    [Math.ceil(cols / WG)],
    o.label ?? "sum_rows",
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
    [rows, cols, f32(o.alpha ?? 1)],
    [x, out],
    [Math.min(rows, 65535), Math.ceil(rows / 65535)],
    o.label ?? "sum_cols",
  );
}
