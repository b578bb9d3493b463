/**
 * Bilinear resize with align_corners=True on the last two axes (the DPT fusion blocks, the upsampling to
 * 14·patches, and `infer_image`'s resize back to the image size), and its adjoint for the backward.
 * The float64 reference is core/nn/resize_ref.ts.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import { numel, type Tensor } from "../../gpu/tensor.ts";
import { texelShift, texelView, texelViewsApply } from "../../gpu/texel_view.ts";
import { TrompeError } from "../../errors.ts";
import { release } from "./release.ts";

const BINDINGS = ["uniform", "read", "storage"] as const;
const FORWARD: KernelSpec = { file: "resize.wgsl", entry: "bilinear", bindings: BINDINGS };
const ADJOINT: KernelSpec = { file: "resize.wgsl", entry: "bilinear_adjoint", bindings: BINDINGS };
const ADJOINT_PLANES: KernelSpec = { ...ADJOINT, entry: "bilinear_adjoint_planes" };
const TEXELS_BINDINGS = ["uniform", "texture", "storage"] as const;
const FORWARD_TEXELS: KernelSpec = {
  file: "resize.wgsl",
  entry: "bilinear_texels",
  bindings: TEXELS_BINDINGS,
};
const ADJOINT_TAPS: KernelSpec = {
  file: "resize.wgsl",
  entry: "adjoint_taps",
  bindings: ["uniform", "storage-texture"],
};
const ADJOINT_PASS_BINDINGS = ["uniform", "texture", "storage", "texture"] as const;
const ADJOINT_ROWS: KernelSpec = {
  file: "resize.wgsl",
  entry: "adjoint_rows",
  bindings: ADJOINT_PASS_BINDINGS,
};
const ADJOINT_COLS: KernelSpec = {
  file: "resize.wgsl",
  entry: "adjoint_cols",
  bindings: ADJOINT_PASS_BINDINGS,
};
const ROWS: KernelSpec = {
  file: "resize.wgsl",
  entry: "bilinear_rows",
  bindings: ["uniform", "texture", "storage-texture"],
};
const WG = 256; // kernels/resize.wgsl's WG
/** Texels a row of adjoint_taps' table: the output indices (2), the weights (2), the count. */
const TAP_TEXELS = 5;
/** Floats a chunk's texel view holds at most (4 MiB), so a view adds little to a peak. */
const VIEW_FLOATS = 1 << 20;
/** The nonzero taps bilinear_adjoint_planes holds per input pixel and axis (MAX_REACH in the kernel). */
const MAX_REACH = 8;

/** Whether every input index along an axis is reached by at most MAX_REACH outputs. */
function reachFits(inSize: number, outSize: number): boolean {
  if (inSize <= 1 || outSize <= 1) return outSize <= MAX_REACH;
  return Math.ceil((outSize - 1) / (inSize - 1)) + 1 <= MAX_REACH;
}

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
  // The forward and the planes adjoint: a pixel of one plane an invocation, a chunk of planes per gid.z; the
  // plain adjoint: every element an invocation.
  const pixels = spec === FORWARD ? size[0] * size[1] : spec === ADJOINT_PLANES ? inH * inW : numel(inShape);
  const [x, y] = grid1d(pixels);
  rt.dispatch(
    spec,
    { ACCUMULATE: accumulate },
    [planes, inH, inW, ...size, chunk, 0, 0, 0, 0, 0],
    [src, dst],
    [x, y, spec === ADJOINT ? 1 : Math.ceil(planes / chunk)],
    label,
  );
}

/**
 * On a CPU adapter, runs bilinear_texels over chunks of planes, each reading x through a texel view of its
 * own planes (core/gpu/texel_view.ts), and returns true; false where x is not whole texels. A chunk starts
 * on a whole texel: any plane where planes are multiples of 4 floats, else every 2nd or 4th.
 */
function forwardTexels(rt: Runtime, x: Tensor, y: Tensor, saved: ResizeSaved, label: string): boolean {
  if (!texelViewsApply(rt, x.size)) return false;
  const [inH, inW] = saved.inShape.slice(-2);
  const [outH, outW] = saved.size;
  const srcPlane = inH * inW;
  const planes = x.size / srcPlane;
  const chunk = chunkPlanes(srcPlane);
  const shift = texelShift(rt, Math.min(chunk, planes) * srcPlane);
  const grid = grid1d(outH * outW);
  for (let first = 0; first < planes; first += chunk) {
    const count = Math.min(chunk, planes - first);
    const view = texelView(rt, x, shift, { off: first * srcPlane, size: count * srcPlane });
    const params = [planes, inH, inW, outH, outW, count, first, shift, 0, 0, 0];
    rt.dispatch(FORWARD_TEXELS, {}, params, [view, y], grid, label);
    rt.pool.free(view);
  }
  return true;
}

/**
 * Planes a chunk of views takes: as many as keep the largest of `sizes` (floats a plane) within VIEW_FLOATS,
 * and a multiple of 1, 2 or 4 that keeps every chunk of every size whole texels.
 */
function chunkPlanes(...sizes: number[]): number {
  const step = Math.max(...sizes.map((n) => (n % 4 === 0 ? 1 : n % 2 === 0 ? 2 : 4)));
  const byFloats = Math.floor(VIEW_FLOATS / Math.max(...sizes));
  return Math.max(step, byFloats - byFloats % step);
}

/**
 * On a CPU adapter, the planes adjoint in two passes over chunks of planes, each reading a texel view
 * (kernels/resize.wgsl's adjoint_rows and adjoint_cols, the same bits), and returns true; false where dy
 * is not whole texels. The taps are found once (adjoint_taps), where the one-pass kernel finds them for
 * every input pixel and keeps them in arrays a CPU adapter indexes lane by lane. A chunk's scratch of
 * column sums, C×outH×W, stays under the view's size.
 */
function adjointTexels(
  rt: Runtime,
  dy: Tensor,
  dx: Tensor,
  saved: ResizeSaved,
  accumulate: boolean,
  label: string,
): boolean {
  if (!texelViewsApply(rt, dy.size)) return false;
  const [inH, inW] = saved.inShape.slice(-2);
  const [outH, outW] = saved.size;
  const outPlane = outH * outW;
  const rowsPlane = outH * inW;
  const planes = dy.size / outPlane;
  if (inH + inW > rt.ctx.limits.maxTextureDimension2D) return false;
  const chunk = chunkPlanes(outPlane, rowsPlane);
  const taps = rt.pool.allocTexture(
    "scratch/resize-taps",
    TAP_TEXELS,
    inH + inW,
    GPUTextureUsage.STORAGE_BINDING,
  );
  const params = (
    count: number,
    first: number,
    shift: number,
  ) => [planes, inH, inW, outH, outW, count, first, shift, 0, 0, 0];
  rt.dispatch(ADJOINT_TAPS, {}, params(0, 0, 0), [taps], grid1d(inH + inW), `${label}/taps`);
  // A last chunk's rows may end inside a texel: its view reads on to the texel's end.
  const rows = rt.tensor(`tmp/${label}/rows`, [Math.ceil(Math.min(chunk, planes) * rowsPlane / 4) * 4]);
  const dyShift = texelShift(rt, chunk * outPlane);
  const rowsShift = texelShift(rt, chunk * rowsPlane);
  for (let first = 0; first < planes; first += chunk) {
    const count = Math.min(chunk, planes - first);
    const dyView = texelView(rt, dy, dyShift, { off: first * outPlane, size: count * outPlane });
    rt.dispatch(
      ADJOINT_ROWS,
      {},
      params(count, first, dyShift),
      [dyView, rows, taps],
      grid1d(rowsPlane),
      label,
    );
    rt.pool.free(dyView);
    const rowsView = texelView(rt, rows, rowsShift, { off: 0, size: Math.ceil(count * rowsPlane / 4) * 4 });
    const cols = params(count, first, rowsShift);
    rt.dispatch(
      ADJOINT_COLS,
      { ACCUMULATE: accumulate },
      cols,
      [rowsView, dx, taps],
      grid1d(inH * inW),
      label,
    );
    rt.pool.free(rowsView);
  }
  release(rt, rows);
  rt.pool.free(taps);
  return true;
}

/**
 * Whether a stride-1 conv over padded rows (conv_rows_product.ts) can take its input as this resize of `x`
 * [B, C, H, W] written straight into each run's rows texture (`resizedRows`), the resized image never stored:
 * on a CPU adapter, where each batch item's planes make one texel view of whole texels (`resizedRowsView`).
 */
export function resizedRowsApply(rt: Runtime, x: Tensor): boolean {
  return texelViewsApply(rt, x.size) && (x.size / x.shape[0]) % 4 === 0;
}

/** The texel view `resizedRows` reads for batch item `b` of x (freed by the caller with `rt.pool.free`). */
export function resizedRowsView(rt: Runtime, x: Tensor, b: number): { view: PoolBuffer; shift: number } {
  const item = x.size / x.shape[0];
  const shift = texelShift(rt, item);
  return { view: texelView(rt, x, shift, { off: b * item, size: item }), shift };
}

/**
 * Fills `rows` (conv_rows.wgsl's input_rows layout: a texel of channels a padded position, from `q0`) with
 * batch item b's channels of x resized to `size`, zero in the padding: bilinear_texels' sums, the same bits.
 */
export function resizedRows(
  rt: Runtime,
  x: Tensor,
  source: { view: PoolBuffer; shift: number },
  size: readonly [number, number],
  rows: PoolBuffer,
  run: { pad: number; pitch: number; q0: number; height: number },
  label: string,
): void {
  const [inH, inW] = x.shape.slice(-2);
  const channels = x.shape[1];
  const params = [
    x.size / (inH * inW),
    inH,
    inW,
    ...size,
    channels,
    0,
    source.shift,
    run.pad,
    run.pitch,
    run.q0,
  ];
  // Every row of the texture (`height`) is written, the halo's and those past it included.
  rt.dispatch(ROWS, {}, params, [source.view, rows], grid1d(run.height, WG), label);
}

/**
 * y [..., outH, outW] from x [..., H, W], pooled as `act/<name>`. Each invocation takes
 * `planesPerInvocation` planes (kernels/resize.wgsl): by default one each on a GPU, which wants its threads
 * many; on a CPU adapter the planes of a texel view (`forwardTexels`), or all of them where x is too small
 * or not whole texels.
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
  if (planesPerInvocation === undefined && forwardTexels(rt, x, y, saved, name)) {
    return { y, saved };
  }
  const planes = x.size / (x.shape[x.shape.length - 2] * x.shape[x.shape.length - 1]);
  dispatch(rt, FORWARD, x, y, saved, false, name, planesPerInvocation ?? (rt.ctx.isCpu ? planes : 1));
  return { y, saved };
}

/**
 * Backward of `resizeBilinearForward`: dx = adjoint(dy) as a new `grads/act/<name>/dx`, or added into
 * `into.dx` with `into.accumulate`. On a CPU adapter, where the resize allows, each invocation finds its
 * taps once and takes `planesPerInvocation` planes (default all): the plain adjoint works the taps out again
 * for every plane, 3.5–5.5× the forward's CPU time at the DPT head's shapes on lavapipe. By default, where dy
 * is whole texels, the two passes over texel views (`adjointTexels`) instead: on lavapipe, alternated with
 * the one-pass planes kernel in one process, 5 runs, wall / CPU ms (readback included): 32×296² ← 518²
 * 885–964 / 1681–1805 against 169–241 / 264–282; 64×148² ← 296² 481–550 / 838–1023 against 88–120 / 129–169;
 * 64×74² ← 148² 119–153 / 203–271 against 32–36 / 35–39. The same bits.
 */
export function resizeBilinearBackward(
  rt: Runtime,
  saved: ResizeSaved,
  dy: Tensor,
  name: string,
  into?: { dx: Tensor; accumulate?: boolean },
  planesPerInvocation?: number,
): Tensor {
  const dx = into?.dx ?? rt.tensor(`grads/act/${name}/dx`, saved.inShape);
  if (dx.size !== numel(saved.inShape)) {
    throw new TrompeError("shape-mismatch", `${name}: gradient ${dx.name}`);
  }
  const [inH, inW] = saved.inShape.slice(-2);
  const planes = numel(saved.inShape) / (inH * inW);
  const fits = reachFits(inH, saved.size[0]) && reachFits(inW, saved.size[1]);
  if (planesPerInvocation !== undefined && !fits) {
    throw new TrompeError(
      "bad-argument",
      `${name}: ${inH}×${inW} → ${saved.size[0]}×${saved.size[1]} reaches past the planes adjoint's taps`,
    );
  }
  const byPlanes = planesPerInvocation !== undefined || (rt.ctx.isCpu && fits);
  const accumulate = into?.accumulate ?? false;
  const label = `${name}.backward`;
  if (planesPerInvocation === undefined && byPlanes && adjointTexels(rt, dy, dx, saved, accumulate, label)) {
    return dx;
  }
  if (byPlanes) {
    dispatch(
      rt,
      ADJOINT_PLANES,
      dy,
      dx,
      saved,
      accumulate,
      `${name}.backward`,
      planesPerInvocation ?? planes,
    );
  } else {
    dispatch(rt, ADJOINT, dy, dx, saved, accumulate, `${name}.backward`);
  }
  return dx;
}
