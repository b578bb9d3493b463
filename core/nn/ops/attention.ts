/**
 * DINOv2's multi-head self-attention: qkv = x·Wqkvᵀ + b laid out [B, T, 3, H, D]; per head
 * P = softmax(Q·Kᵀ/√D) in float32; ctx = P·V laid out [B, T, H, D]; y = ctx·Wprojᵀ + b.
 *
 * Scores are materialised, a few heads at a time: matmul reads Q, K, V in place from the qkv buffer
 * through its two-level batch strides, so no head is ever copied out. A chunk of heads is as many as fit
 * one storage binding (16 × 1370² floats = 120 MB for ViT-L at 518², under lavapipe's 128 MiB).
 * The backward saves only qkv and ctx and recomputes P chunk by chunk with the same kernels, so it is
 * bit-identical to the forward's and the T×T probabilities never outlive their chunk.
 *
 * On CPU adapters, where the fused kernels (core/nn/ops/attention_cpu.ts) measured faster (`useFused`),
 * nothing is materialised: the forward also saves each query's log-sum-exp, and the backward recomputes P
 * block by block from it. The choice reads only the Runtime's adapter, so a memory plan (an accounting
 * Runtime carrying the planned adapter, core/train/memory_plan.ts) counts the path that will run.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { matmul } from "../../gpu/matmul.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import {
  fusedBackward,
  fusedFits,
  fusedForward,
  fusedForwardOnTexture,
  STATS_PER_HEAD,
} from "./attention_cpu.ts";
import { linearBackward, linearForward, type LinearWeights } from "./linear.ts";
import { linearIntoTexture, linearTextureFits } from "./linear_texture.ts";
import { release } from "./release.ts";

const BINDINGS = ["uniform", "read", "storage"] as const;
const SOFTMAX: KernelSpec = { file: "attention.wgsl", entry: "softmax", bindings: BINDINGS };
const SOFTMAX_BACKWARD: KernelSpec = {
  file: "attention.wgsl",
  entry: "softmax_backward",
  bindings: BINDINGS,
};
/** The same on CPU adapters: one invocation per row, 8 rows per workgroup (attention.wgsl's ROW_WG). */
const SOFTMAX_ROWS: KernelSpec = { ...SOFTMAX, entry: "softmax_rows" };
const SOFTMAX_BACKWARD_ROWS: KernelSpec = { ...SOFTMAX, entry: "softmax_backward_rows" };
const ROW_WG = 8;

/** Softmax (or its backward) over `rows` rows: a workgroup per row on a GPU, an invocation per row on a CPU. */
function dispatchSoftmax(
  rt: Runtime,
  backward: boolean,
  rows: number,
  cols: number,
  probs: Tensor,
  s: Tensor,
) {
  const cpu = rt.ctx.isCpu;
  const spec = cpu
    ? (backward ? SOFTMAX_BACKWARD_ROWS : SOFTMAX_ROWS)
    : backward
    ? SOFTMAX_BACKWARD
    : SOFTMAX;
  const grid = rowsGrid(cpu ? Math.ceil(rows / ROW_WG) : rows);
  rt.dispatch(spec, {}, [rows, cols], [probs, s], grid, backward ? "softmax_backward" : "softmax");
}

export interface AttentionWeights {
  qkv: LinearWeights;
  proj: LinearWeights;
}

/** What the backward needs besides the block's normalised input x. */
export interface AttentionSaved {
  /** [B, T, 3C] */
  qkv: Tensor;
  /** [B, T, C] */
  ctx: Tensor;
  /** [B, T, H, 4]: each query's log2-sum-exp, where the fused kernels ran. */
  stats?: Tensor;
}

/** The tensors of `saved`, for whoever frees them. */
export function attentionSavedTensors(saved: AttentionSaved): Tensor[] {
  return saved.stats ? [saved.qkv, saved.ctx, saved.stats] : [saved.qkv, saved.ctx];
}

export interface AttentionOptions {
  heads: number;
  /** Largest scores buffer per chunk of heads; default: the device's storage binding limit. */
  maxScoreBytes?: number;
  /** Run the fused kernels (CPU adapters only) or not; default: where they measured faster (`useFused`). */
  fused?: boolean;
}

interface Geometry {
  batch: number;
  tokens: number;
  channels: number;
  heads: number;
  headDim: number;
  /** Heads per chunk of materialised scores. */
  chunk: number;
  /** The fused kernels run instead (no chunks). */
  fused: boolean;
}

/**
 * Whether the fused kernels run: on CPU adapters, wherever they take the shape. On lavapipe (2 shared cores)
 * they cost less CPU time than the materialised path at every size measured, forward and backward together:
 * 36 tokens (tiny-a) 6–9 against 10–13 ms, 89 (tiny-b) 16 against 30 ms, 257 180 against 200–280 ms, 1370
 * (ViT-S at 518²) 1.3–1.5 against 3.3–3.7 s, so the materialised path stays for GPUs, and for head
 * dimensions or token counts the fused kernels do not take.
 */
export function useFused(rt: Runtime, g: Omit<Geometry, "chunk" | "fused">, o: AttentionOptions): boolean {
  const possible = rt.ctx.isCpu && fusedFits(rt, g);
  if (o.fused && !possible) {
    throw new TrompeError(
      "unsupported",
      `attention: the fused kernels need a CPU adapter and a head dimension of 4–64 in steps of 4 (got ${g.headDim})`,
    );
  }
  return o.fused ?? possible;
}

function geometry(rt: Runtime, x: Tensor, o: AttentionOptions): Geometry {
  if (x.shape.length !== 3 || x.shape[2] % o.heads !== 0) {
    throw new TrompeError(
      "shape-mismatch",
      `attention: x ${x.name} [${x.shape}] is not [B, T, C] with ${o.heads} heads`,
    );
  }
  const [batch, tokens, channels] = x.shape;
  const shape = { batch, tokens, channels, heads: o.heads, headDim: channels / o.heads };
  if (useFused(rt, shape, o)) return { ...shape, chunk: 0, fused: true };
  const limit = o.maxScoreBytes ?? rt.ctx.limits.maxStorageBufferBindingSize;
  const chunk = Math.min(o.heads, Math.floor(limit / (tokens * tokens * 4)));
  if (chunk < 1) {
    throw new TrompeError(
      "adapter-limits",
      `attention over ${tokens} tokens needs ${
        tokens * tokens * 4
      } bytes of scores per head; the limit is ${limit}`,
      { hint: "use a smaller input size" },
    );
  }
  return { ...shape, chunk, fused: false };
}

/** The (batch item, first head, head count) of every chunk, in order. */
function chunks(g: Geometry): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let b = 0; b < g.batch; b++) {
    for (let h0 = 0; h0 < g.heads; h0 += g.chunk) out.push([b, h0, Math.min(g.chunk, g.heads - h0)]);
  }
  return out;
}

function rowsGrid(rows: number): [number, number] {
  return rows <= 65535 ? [rows, 1] : [65535, Math.ceil(rows / 65535)];
}

/** P = softmax(Q·Kᵀ/√D) for heads h0..h0+hc of batch item b, into `scores` [hc, T, T]. */
function probabilities(
  rt: Runtime,
  g: Geometry,
  qkv: Tensor,
  scores: Tensor,
  b: number,
  h0: number,
  hc: number,
) {
  const { tokens: T, channels: C, headDim: D } = g;
  const base = b * T * 3 * C + h0 * D;
  matmul(rt, {
    a: qkv,
    b: qkv,
    c: scores,
    m: T,
    n: T,
    k: D,
    transB: true,
    alpha: 1 / Math.sqrt(D),
    lda: 3 * C,
    ldb: 3 * C,
    offA: base,
    offB: base + C,
    batch: hc,
    strideA: [0, D],
    strideB: [0, D],
    strideC: [0, T * T],
    label: "attention_scores",
  });
  dispatchSoftmax(rt, false, hc * T, T, rt.unused, scores);
}

/**
 * What a recomputed forward of the fused path can take from the first instead of running the fused kernel
 * again: its ctx and statistics (the same bits, from the same kernel on the same input).
 */
export type AttentionKept = Required<Pick<AttentionSaved, "ctx" | "stats">>;

/**
 * y = Attention(x) for x [B, T, C]; the result and the saved tensors are labelled under `label`. With
 * `kept` (the fused path's ctx and statistics from an earlier forward of the same x), those are taken, not
 * computed: they become the saved ones.
 */
export function attentionForward(
  rt: Runtime,
  x: Tensor,
  w: AttentionWeights,
  options: AttentionOptions,
  label: string,
  kept?: AttentionKept,
): { y: Tensor; saved: AttentionSaved } {
  const g = geometry(rt, x, options);
  const { tokens: T, channels: C, headDim: D } = g;
  if (kept && !g.fused) {
    throw new TrompeError("bad-argument", `${label}: a kept ctx and statistics need the fused path`);
  }
  const qkv = linearForward(rt, x, w.qkv, `${label}/qkv`);
  if (g.fused) {
    const ctx = kept?.ctx ?? rt.tensor(`${label}/ctx`, x.shape);
    const stats = kept?.stats ?? rt.tensor(`${label}/stats`, [g.batch, T, g.heads, STATS_PER_HEAD]);
    if (!kept) fusedForward(rt, g, qkv, ctx, stats);
    const y = linearForward(rt, ctx, w.proj, `${label}/out`);
    return { y, saved: { qkv, ctx, stats } };
  }
  const ctx = rt.tensor(`${label}/ctx`, x.shape);
  const scores = rt.tensor(`${label}/scores`, [g.chunk, T, T]);
  for (const [b, h0, hc] of chunks(g)) {
    probabilities(rt, g, qkv, scores, b, h0, hc);
    matmul(rt, {
      a: scores,
      b: qkv,
      c: ctx,
      m: T,
      n: D,
      k: T,
      ldb: 3 * C,
      ldc: C,
      offB: b * T * 3 * C + 2 * C + h0 * D,
      offC: b * T * C + h0 * D,
      batch: hc,
      strideA: [0, T * T],
      strideB: [0, D],
      strideC: [0, D],
      label: "attention_values",
    });
  }
  release(rt, scores);
  const y = linearForward(rt, ctx, w.proj, `${label}/out`);
  return { y, saved: { qkv, ctx } };
}

/**
 * y = Attention(x) where nothing is kept for a backward (inference, and the training forward before
 * recomputation). On the fused path with one batch item the qkv linear stores its output straight into the
 * texture the fused kernel reads (core/nn/ops/linear_texture.ts): no qkv buffer and no copy of it.
 * Otherwise it is `attentionForward` with its saved tensors freed.
 */
export function attentionInference(
  rt: Runtime,
  x: Tensor,
  w: AttentionWeights,
  options: AttentionOptions,
  label: string,
): Tensor {
  const g = geometry(rt, x, options);
  const { tokens: T, channels: C } = g;
  if (g.fused && g.batch === 1 && linearTextureFits(rt, T, C, 3 * C)) {
    const texture = linearIntoTexture(rt, x, w.qkv, { gelu: false, label: "linear/qkv" });
    const ctx = rt.tensor(`${label}/ctx`, x.shape);
    const stats = rt.tensor(`${label}/stats`, [1, T, g.heads, STATS_PER_HEAD]);
    fusedForwardOnTexture(rt, g, texture, 0, ctx, stats);
    rt.pool.free(texture);
    release(rt, stats);
    const y = linearForward(rt, ctx, w.proj, `${label}/out`);
    release(rt, ctx);
    return y;
  }
  const { y, saved } = attentionForward(rt, x, w, options, label);
  release(rt, ...attentionSavedTensors(saved));
  return y;
}

/**
 * Backward of `attentionForward`: accumulates the qkv and proj weight gradients into `grads` (absent when
 * frozen) and returns dx [B, T, C] (or adds it into `dxInto`).
 */
export function attentionBackward(
  rt: Runtime,
  x: Tensor,
  w: AttentionWeights,
  saved: AttentionSaved,
  dy: Tensor,
  grads: AttentionWeights | undefined,
  options: AttentionOptions,
  label: string,
  dxInto?: Tensor,
): Tensor {
  const g = geometry(rt, x, options);
  const { tokens: T, channels: C, headDim: D } = g;
  const alpha = 1 / Math.sqrt(D);
  const dCtx = linearBackward(rt, saved.ctx, w.proj, dy, grads?.proj, `${label}/dctx`)!;
  const dQkv = rt.tensor(`${label}/dqkv`, saved.qkv.shape);
  if (g.fused) {
    if (!saved.stats) {
      throw new TrompeError("bad-argument", "attention backward: the fused path needs the forward's stats");
    }
    fusedBackward(rt, g, { qkv: saved.qkv, ctx: saved.ctx, dCtx, stats: saved.stats, dQkv });
    const dx = linearBackward(rt, x, w.qkv, dQkv, grads?.qkv, `${label}/dx`, { dxInto })!;
    release(rt, dCtx, dQkv);
    return dx;
  }
  const probs = rt.tensor(`${label}/scores`, [g.chunk, T, T]);
  const dScores = rt.tensor(`${label}/dscores`, [g.chunk, T, T]);
  const qkv = saved.qkv;
  for (const [b, h0, hc] of chunks(g)) {
    const base = b * T * 3 * C + h0 * D;
    const ctxBase = b * T * C + h0 * D;
    probabilities(rt, g, qkv, probs, b, h0, hc);
    const heads = { batch: hc, label: "attention_backward" };
    // dP = dctx·Vᵀ
    matmul(rt, {
      ...heads,
      a: dCtx,
      b: qkv,
      c: dScores,
      m: T,
      n: T,
      k: D,
      transB: true,
      lda: C,
      ldb: 3 * C,
      offA: ctxBase,
      offB: base + 2 * C,
      strideA: [0, D],
      strideB: [0, D],
      strideC: [0, T * T],
    });
    // dV = Pᵀ·dctx
    matmul(rt, {
      ...heads,
      a: probs,
      b: dCtx,
      c: dQkv,
      m: T,
      n: D,
      k: T,
      transA: true,
      ldb: C,
      ldc: 3 * C,
      offB: ctxBase,
      offC: base + 2 * C,
      strideA: [0, T * T],
      strideB: [0, D],
      strideC: [0, D],
    });
    dispatchSoftmax(rt, true, hc * T, T, probs, dScores);
    // dQ = α·dS·K and dK = α·dSᵀ·Q
    for (const [transA, from, to] of [[false, C, 0], [true, 0, C]] as const) {
      matmul(rt, {
        ...heads,
        a: dScores,
        b: qkv,
        c: dQkv,
        m: T,
        n: D,
        k: T,
        transA,
        alpha,
        ldb: 3 * C,
        ldc: 3 * C,
        offB: base + from,
        offC: base + to,
        strideA: [0, T * T],
        strideB: [0, D],
        strideC: [0, D],
      });
    }
  }
  const dx = linearBackward(rt, x, w.qkv, dQkv, grads?.qkv, `${label}/dx`, { dxInto })!;
  release(rt, probs, dScores, dCtx, dQkv);
  return dx;
}
