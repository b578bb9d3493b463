/**
 * A run's input rows for the CPU product over padded rows (kernels/conv_rows.wgsl: texel (c4, r) = channels
 * 4c4 .. 4c4+3 of padded position q0 + r), for the forward and input gradient (conv_rows_product.ts) and
 * the weight gradient (conv_weight_grad_rows.ts) alike. With x as [B, Cin, H, W], the run's image rows of
 * each channel are first copied into a view (a buffer-to-texture copy is lavapipe's memcpy) that
 * input_rows_texels reads: on lavapipe a load from a storage buffer is a loop over the SIMD lanes, an image
 * load straight-line code. The view holds the run's rows only — one span of every channel where the run is
 * the whole image, else each channel's span from the texel holding its first value in a block of texture
 * rows of its own — so it adds about one run's scratch to a peak, never a copy of x. ViT tokens (the
 * projections' weight gradients, 1369 pixels) still read the buffer.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { nonPowerOfTwo } from "../../gpu/matmul_cpu.ts";
import type { Param } from "../../gpu/params.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { copyTexels, MIN_SHIFT } from "../../gpu/texel_view.ts";
import type { ConvGeometry } from "./conv2d.ts";

const ROWS_WG = 64; // kernels/conv_rows.wgsl's @workgroup_size
const BINDINGS = ["uniform", "read", "storage-texture"] as const;
const INPUT_ROWS: KernelSpec = { file: "conv_rows.wgsl", entry: "input_rows", bindings: BINDINGS };
const INPUT_ROWS_TEXELS: KernelSpec = {
  file: "conv_rows.wgsl",
  entry: "input_rows_texels",
  bindings: ["uniform", "texture", "storage-texture"],
};

/** The run: batch item `b`, padded positions from `q0`, `count` of them the product's. */
export interface RowsRun {
  b: number;
  q0: number;
  count: number;
}

/** kernels/conv_rows.wgsl's parameters (the view's three are zero where no view is read). */
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
  const layout = constants.TOKENS ? undefined : viewLayout(rt, x, g, pitch, run, height);
  if (!layout) {
    rt.dispatch(INPUT_ROWS, constants, rowsParams(g, pitch, run), [x, texture], grid, `${label}/x-rows`);
    return;
  }
  const { shift, rows, spans } = layout;
  const width = 1 << shift;
  const view = rt.pool.allocTexture(
    "scratch/texel-view",
    nonPowerOfTwo(width),
    nonPowerOfTwo(rows),
    GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  );
  for (const span of spans) copySpan(rt, x, span, view, width);
  const params = rowsParams(g, pitch, run, [shift, layout.first, layout.channelTexels]);
  rt.dispatch(INPUT_ROWS_TEXELS, constants, params, [view, texture], grid, `${label}/x-rows`);
  // Freed while recorded: the pool reuses or destroys it safely (core/gpu/runtime.ts).
  rt.pool.free(view);
}

/** x's values [from, to) (from a multiple of 4) at flat texel `at` of a view `width` texels wide. */
interface Span {
  from: number;
  to: number;
  at: number;
}

/**
 * Records the copy of a span: its whole rows of the view in one copy where they stay inside x (the last
 * row's values past the span are never read), else as `copyTexels` copies.
 */
function copySpan(rt: Runtime, x: Tensor, { from, to, at }: Span, view: PoolBuffer, width: number): void {
  const texels = Math.ceil((to - from) / 4);
  const rows = Math.ceil(texels / width);
  if (from + 4 * width * rows <= x.size) {
    rt.copyToTexture(x, from, 4 * width, view, width, rows, at / width);
  } else {
    copyTexels(rt, x, from, texels, view, width, at / width);
  }
}

/**
 * The view of batch item b's image rows under padded positions q0 .. q0 + height − 1 (y0 .. y1): where they
 * are every row, one span of all channels (channelTexels 0); else each channel's span in its own block of
 * channelTexels, a whole number of the view's rows of 2^shift texels. Undefined where x's end is not a whole
 * texel (a span's last texel would reach past it) or no width fits the texture side.
 */
function viewLayout(
  rt: Runtime,
  x: Tensor,
  g: ConvGeometry,
  pitch: number,
  run: { b: number; q0: number },
  height: number,
) {
  if (x.size % 4 !== 0) return undefined;
  const y0 = Math.min(g.h - 1, Math.max(0, Math.floor(run.q0 / pitch) - g.pad));
  const y1 = Math.max(y0, Math.min(g.h - 1, Math.floor((run.q0 + height - 1) / pitch) - g.pad));
  const plane = g.h * g.w;
  const first = run.b * g.cin * plane + y0 * g.w;
  const side = rt.ctx.limits.maxTextureDimension2D;
  const whole = y0 === 0 && y1 === g.h - 1;
  // A span starts up to 3 values before its first (at the texel holding it).
  const spanTexels = Math.ceil(((whole ? g.cin * plane : (y1 - y0 + 1) * g.w) + 3) / 4);
  for (let shift = MIN_SHIFT; (1 << shift) < side; shift++) {
    const width = 1 << shift;
    const rowsPerSpan = Math.ceil(spanTexels / width);
    const rows = whole ? rowsPerSpan : g.cin * rowsPerSpan;
    if (nonPowerOfTwo(rows) > side) continue;
    const spans: Span[] = [];
    for (let c = 0; c < (whole ? 1 : g.cin); c++) {
      const start = first + c * plane;
      const to = whole ? start + g.cin * plane - y0 * g.w : start + (y1 - y0 + 1) * g.w;
      spans.push({ from: start - (start % 4), to, at: c * rowsPerSpan * width });
    }
    return { shift, rows, spans, first, channelTexels: whole ? 0 : rowsPerSpan * width };
  }
  return undefined;
}
