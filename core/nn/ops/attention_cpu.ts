/**
 * Attention fused on CPU adapters (kernels/attention_cpu.wgsl and its backward): the forward's scores,
 * online softmax and value product per block of keys in one kernel, with no T×T matrix written and no
 * operand copy per head; the backward's dK and dV in one fused pass per head, which also writes that head's
 * dS for the CPU product to take dQ. The kernels read Q, K and V from one rgba32float copy of each batch
 * item's qkv rows (a texel fetch is straight-line SIMD code on lavapipe, a storage load in a loop is not:
 * see kernels/matmul_cpu.wgsl), copied as the CPU product's operands are (`packOperand`: a buffer-to-texture
 * copy where aligned).
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import {
  nonPowerOfTwo,
  operandTexture,
  packOperand,
  productOnTextures,
  textureShapes,
} from "../../gpu/matmul_cpu.ts";
import { f32 } from "../../gpu/params.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { BACKWARD, FORWARD, MAX_D4 } from "../../../kernels/attention_cpu.gen.ts";

const FORWARD_KERNEL: KernelSpec = {
  file: "attention_cpu.wgsl",
  entry: "forward",
  bindings: ["uniform", "texture", "storage", "storage"],
};
const DELTA_KERNEL: KernelSpec = {
  file: "attention_cpu_backward.wgsl",
  entry: "delta",
  bindings: ["uniform", "texture", "texture", "storage"],
};
// `keys` reads the statistics as a texture (AUX) and leaves binding 3 (the stats buffer) unused: bindings are
// positional, and `delta`'s four come first.
const KEYS_KERNEL: KernelSpec = {
  ...DELTA_KERNEL,
  entry: "keys",
  bindings: [...DELTA_KERNEL.bindings, "texture", "storage", "storage-texture"],
};

/** Invocations per workgroup: one 8-wide SIMD group of lavapipe's (256-bit AVX2). */
const WG_X = 8;

/** Floats per (token, head) of the statistics buffer: log2-sum-exp, Δ and two unused (one texel). */
export const STATS_PER_HEAD = 4;

export interface FusedGeometry {
  batch: number;
  tokens: number;
  channels: number;
  heads: number;
  headDim: number;
}

/** Whether the fused kernels take this shape on this adapter: head rows of whole texels, ≤ MAX_D4 of them. */
export function fusedFits(rt: Runtime, g: FusedGeometry): boolean {
  const side = rt.ctx.limits.maxTextureDimension2D;
  return g.headDim % 4 === 0 && g.headDim / 4 <= MAX_D4 && nonPowerOfTwo(g.tokens) <= side &&
    nonPowerOfTwo(3 * g.channels / 4) <= side;
}

/** Copies `rows`×`cols` floats of `x` from `off` (leading dimension `cols`) into a new texture. */
function packRows(
  rt: Runtime,
  x: Tensor,
  rows: number,
  cols: number,
  off: number,
  label: string,
): PoolBuffer {
  // The kernels read whole texels of a head's row and clamp rows to the last token: nothing past them.
  const size: [number, number] = [nonPowerOfTwo(Math.ceil(cols / 4)), nonPowerOfTwo(rows)];
  const texture = operandTexture(rt, size);
  packOperand(
    rt,
    { tensor: x, rows, cols, ld: cols, trans: false, rowsAlongK: false, off },
    texture,
    size,
    label,
  );
  return texture;
}

function constants(g: FusedGeometry) {
  return { WG_X, HEAD_D4: g.headDim / 4 };
}

/**
 * ctx [B, T, C] = softmax(Q·Kᵀ/√D)·V per head, reading qkv [B, T, 3C]; also writes `stats` [B, T, H, 4]
 * (each query's log2-sum-exp, which the backward reads).
 */
export function fusedForward(rt: Runtime, g: FusedGeometry, qkv: Tensor, ctx: Tensor, stats: Tensor): void {
  const { tokens: T, channels: C } = g;
  for (let b = 0; b < g.batch; b++) {
    const texture = packRows(rt, qkv, T, 3 * C, b * T * 3 * C, "attention_fused");
    fusedForwardOnTexture(rt, g, texture, b, ctx, stats);
    // Freed while recorded: the pool reuses or destroys it safely (core/gpu/runtime.ts).
    rt.pool.free(texture);
  }
}

/**
 * The forward of batch item b from its qkv rows already in a texture (texel (x, t) = qkv[t, 4x .. 4x+3],
 * ⌈3C/4⌉ × T texels, sides non-powers of two), as a qkv linear can write it (core/nn/ops/linear_texture.ts).
 */
export function fusedForwardOnTexture(
  rt: Runtime,
  g: FusedGeometry,
  texture: PoolBuffer,
  b: number,
  ctx: Tensor,
  stats: Tensor,
): void {
  const { tokens: T, channels: C, heads: H } = g;
  rt.dispatch(
    FORWARD_KERNEL,
    constants(g),
    [T, C / 4, H, b * T * C / 4, b * T * H * STATS_PER_HEAD, f32(Math.LOG2E / Math.sqrt(g.headDim))],
    [texture, ctx, stats],
    [Math.ceil(T / (FORWARD.rows * WG_X)), H],
    "attention_fused",
  );
}

/**
 * Writes dqkv [B, T, 3C] (every element) from qkv, ctx, dctx [B, T, C] and the forward's `stats`, whose Δ
 * column it fills on the way. Per batch item: Δ; then per head, the fused `keys` pass (dK, dV, and dS/√D
 * into a texture) and dQ = (dS/√D)·K on the CPU product, run as dQᵀ = Kᵀ·(dS/√D)ᵀ (64 rows of C rather than
 * 64 columns: fewer lanes past the last column) stored transposed into dqkv's Q columns.
 */
export function fusedBackward(
  rt: Runtime,
  g: FusedGeometry,
  tensors: { qkv: Tensor; ctx: Tensor; dCtx: Tensor; stats: Tensor; dQkv: Tensor },
): void {
  const { tokens: T, channels: C, heads: H, headDim: D } = g;
  const label = "attention_fused_backward";
  // dQᵀ = Kᵀ·dSᵀ: A is a head's K rows as stored (A_MPACKED), B is dS stored a texel per 4 queries.
  const layout = { aMPacked: true, bKPacked: false };
  const shapes = textureShapes({ m: D, n: T, k: T }, layout);
  for (let b = 0; b < g.batch; b++) {
    const statsOff = b * T * H * STATS_PER_HEAD;
    const params = (head: number) => [
      T,
      C / 4,
      H,
      b * T * 3 * C / 4,
      statsOff,
      f32(Math.LOG2E / Math.sqrt(D)),
      f32(1 / Math.sqrt(D)),
      head,
    ];
    const dCtx = packRows(rt, tensors.dCtx, T, C, b * T * C, label);
    const ctx = packRows(rt, tensors.ctx, T, C, b * T * C, label);
    rt.dispatch(
      DELTA_KERNEL,
      constants(g),
      params(0),
      [dCtx, ctx, tensors.stats],
      [Math.ceil(T / WG_X), H],
      `${label}/delta`,
    );
    rt.pool.free(ctx);
    const stats = packRows(rt, tensors.stats, T, H * STATS_PER_HEAD, statsOff, label);
    const qkv = packRows(rt, tensors.qkv, T, 3 * C, b * T * 3 * C, label);
    const keys = operandTexture(rt, shapes.a);
    const dScores = operandTexture(rt, shapes.b);
    for (let h = 0; h < H; h++) {
      rt.dispatch(
        KEYS_KERNEL,
        constants(g),
        params(h),
        [dCtx, stats, tensors.stats, qkv, tensors.dQkv, dScores],
        [Math.ceil(T / (BACKWARD.rows * WG_X)), 1],
        `${label}/keys`,
      );
      const kOff = b * T * 3 * C + C + h * D;
      packOperand(
        rt,
        { tensor: tensors.qkv, rows: T, cols: D, ld: 3 * C, trans: false, off: kOff },
        keys,
        shapes.a,
        label,
      );
      productOnTextures(
        rt,
        {
          m: D,
          n: T,
          k: T,
          c: tensors.dQkv,
          ldc: 3 * C,
          offC: b * T * 3 * C + h * D,
          transC: true,
          accumulate: false,
          layout,
          label: `${label}/dq`,
        },
        keys,
        dScores,
      );
    }
    // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
    rt.pool.free(dCtx);
    rt.pool.free(stats);
    rt.pool.free(qkv);
    rt.pool.free(keys);
    rt.pool.free(dScores);
  }
}
