/**
 * A run's input rows for the CPU product over padded rows (kernels/conv_rows.wgsl: texel (c4, r) = channels
 * 4c4 .. 4c4+3 of padded position q0 + r), for the forward and input gradient (conv_rows_product.ts) and
 * the weight gradient (conv_weight_grad_rows.ts) alike. With x as [B, Cin, H, W], the run's image rows of
 * each channel are first copied into a view (a buffer-to-texture copy is lavapipe's memcpy) that
 * input_rows_texels reads: on lavapipe a load from a storage buffer is a loop over the SIMD lanes, an image
 * load straight-line code. The view holds the run's rows only — each channel's span from the texel holding
 * its first value, flat from its own block of texture rows — so it adds about one run's scratch to a peak,
 * never a copy of x. ViT tokens (the projections' weight gradients, 1369 pixels) still read the buffer.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { nonPowerOfTwo } from "../../gpu/matmul_cpu.ts";
import type { Param } from "../../gpu/params.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { ConvGeometry } from "./conv2d.ts";

const ROWS_WG = 64; // kernels/conv_rows.wgsl's @workgroup_size
const BINDINGS = ["uniform", "read", "storage-texture"] as const;
const INPUT_ROWS: KernelSpec = { file: "conv_rows.wgsl", entry: "input_rows", bindings: BINDINGS };
const INPUT_ROWS_TEXELS: KernelSpec = {
  file: "conv_rows.wgsl",
  entry: "input_rows_texels",
  bindings: ["uniform", "texture", "storage-texture"],
};
/** The view's rows are at least 64 texels (1 KiB: a multiple of the 256 bytes a copy's rows lie apart). */
const MIN_SHIFT = 6;

/** The run: batch item `b`, padded positions from `q0`, `count` of them the product's. */
export interface RowsRun {
  b: number;
  q0: number;
  count: number;
}

/** kernels/conv_rows.wgsl's parameters (the view's three are zero where none is read). */
export function rowsParams(g: ConvGeometry, pitch: number, run: RowsRun, view = [0, 0, 0]): Param[] {
  return [g.cin, g.h, g.w, g.pad, pitch, g.oh, g.ow, g.cout, run.b, run.q0, run.count, ...view];
}

/**
 * Records the copy of run `run`'s input rows into `texture` (`height` rows, every texel written): from x
 * through a view where it is [B, Cin, H, W], from the buffer for tokens (`TOKENS`).
 */
export function recordInputRows(
  rt: Runtime,
  x: Tensor,
  g: ConvGeometry,
  pitch: number,
  run: RowsRun,
  texture: PoolBuffer,
  height: number,
  constants: { RELU_IN: boolean; TOKENS: boolean },
  label: string,
): void {
  const grid: [number, number] = [Math.ceil(height / ROWS_WG), 1];
  const layout = constants.TOKENS ? undefined : viewLayout(rt, x, g, pitch, run.q0, height);
  if (!layout) {
    rt.dispatch(INPUT_ROWS, constants, rowsParams(g, pitch, run), [x, texture], grid, `${label}/x-rows`);
    return;
  }
  const { shift, rowsPerChannel, y0, y1 } = layout;
  const width = 1 << shift;
  const view = rt.pool.allocTexture(
    "scratch/texel-view",
    nonPowerOfTwo(width),
    nonPowerOfTwo(g.cin * rowsPerChannel),
    GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  );
  for (let c = 0; c < g.cin; c++) {
    const plane = (run.b * g.cin + c) * g.h;
    const first = (plane + y0) * g.w;
    const from = first - (first % 4);
    const texels = Math.ceil(((plane + y1 + 1) * g.w - from) / 4);
    const full = Math.floor(texels / width);
    const tail = texels - full * width;
    const at = c * rowsPerChannel;
    if (full > 0) rt.copyToTexture(x, from, 4 * width, view, width, full, at);
    if (tail > 0) rt.copyToTexture(x, from + 4 * width * full, 4 * width, view, tail, 1, at + full);
  }
  const params = rowsParams(g, pitch, run, [shift, rowsPerChannel, y0]);
  rt.dispatch(INPUT_ROWS_TEXELS, constants, params, [view, texture], grid, `${label}/x-rows`);
  // Freed while recorded: the pool reuses or destroys it safely (core/gpu/runtime.ts).
  rt.pool.free(view);
}

/**
 * The view of the image rows under padded positions q0 .. q0 + height − 1 (y0 .. y1), each channel's
 * span in `rowsPerChannel` rows of 2^shift texels; undefined where x's end is not a whole texel (a span's
 * last texel would reach past it) or no width fits the texture side.
 */
function viewLayout(rt: Runtime, x: Tensor, g: ConvGeometry, pitch: number, q0: number, height: number) {
  if (x.size % 4 !== 0) return undefined;
  const y0 = Math.min(g.h - 1, Math.max(0, Math.floor(q0 / pitch) - g.pad));
  const y1 = Math.max(y0, Math.min(g.h - 1, Math.floor((q0 + height - 1) / pitch) - g.pad));
  // A span starts up to 3 values before its first row (at the texel holding it).
  const spanTexels = Math.ceil(((y1 - y0 + 1) * g.w + 3) / 4);
  const side = rt.ctx.limits.maxTextureDimension2D;
  for (let shift = MIN_SHIFT; (1 << shift) < side; shift++) {
    const rowsPerChannel = Math.ceil(spanTexels / (1 << shift));
    if (nonPowerOfTwo(g.cin * rowsPerChannel) <= side) return { shift, rowsPerChannel, y0, y1 };
  }
  return undefined;
}
