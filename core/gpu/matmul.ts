/**
 * C = alpha · op(A) · op(B) (+ bias) (+ C), batched: the TypeScript side of kernels/matmul_tile128.wgsl (GPUs'
 * default: 128×128 tiles, 8×8 outputs an invocation), kernels/matmul.wgsl and kernels/matmul_vec4.wgsl (smaller
 * tiles as override constants) and kernels/matmul_cpu.wgsl (CPU adapters, core/gpu/matmul_cpu.ts). The three products of a linear layer are A·B (forward with stored
 * [in, out] weights), A·Bᵀ (forward with PyTorch's [out, in] weights; backward to the input) and Aᵀ·B
 * (backward to the weights).
 */
import type { KernelSpec } from "./kernels.ts";
import { f32 } from "./params.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { TrompeError } from "../errors.ts";
import { cpuPathFits, matmulCpu } from "./matmul_cpu.ts";
import { TILE_M, TILE_N } from "../../kernels/matmul_tile128.gen.ts";

export const MATMUL_KERNEL: KernelSpec = {
  file: "matmul.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "read", "read", "storage"],
};

export const MATMUL_VEC4_KERNEL: KernelSpec = { ...MATMUL_KERNEL, file: "matmul_vec4.wgsl" };
export const MATMUL_TILE128_KERNEL: KernelSpec = { ...MATMUL_KERNEL, file: "matmul_tile128.wgsl" };

/** Workgroup shape: a (4·wgY)×(4·wgX) tile of C per workgroup, K in steps of tileK. */
export interface MatmulTiles {
  wgX: number;
  wgY: number;
  tileK: number;
}

export const DEFAULT_TILES: MatmulTiles = { wgX: 16, wgY: 16, tileK: 16 };

/** Element offsets of batch item z = outer·inner + i: outer·stride[0] + i·stride[1]. */
export type BatchStride = readonly [number, number];

export interface MatmulArgs {
  a: Tensor;
  b: Tensor;
  c: Tensor;
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
  accumulate?: boolean;
  alpha?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
  offA?: number;
  offB?: number;
  offC?: number;
  /** Number of products (default 1); with `inner`, the batch index splits as outer·inner + i. */
  batch?: number;
  inner?: number;
  strideA?: BatchStride;
  strideB?: BatchStride;
  strideC?: BatchStride;
  tiles?: MatmulTiles;
  /**
   * "auto": on a GPU "tile128"; on a CPU adapter the CPU kernel — but "tiled" with 8×8 tiles for a batch of
   * small products (`SMALL_BATCHED_PRODUCT`) — or where its packed copies would not fit a texture, "vec4"
   * when every dimension, offset and stride is a multiple of 4, else "tiled". "tiled" and "vec4" take `tiles`.
   */
  variant?: "auto" | "tile128" | "tiled" | "vec4" | "cpu";
  label?: string;
}

/** Every argument resolved: what the kernel paths receive. */
export interface MatmulProblem {
  a: Tensor;
  b: Tensor;
  c: Tensor;
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  bias?: Tensor;
  accumulate: boolean;
  alpha: number;
  lda: number;
  ldb: number;
  ldc: number;
  offA: number;
  offB: number;
  offC: number;
  batch: number;
  inner: number;
  strideA: BatchStride;
  strideB: BatchStride;
  strideC: BatchStride;
  label: string;
}

/** Whether the vec4 kernel can run: every address it forms must be a multiple of 4 elements. */
function vec4Compatible(values: readonly number[]): boolean {
  return values.every((v) => v % 4 === 0);
}

function lastIndex(
  rows: number,
  cols: number,
  ld: number,
  off: number,
  batch: number,
  inner: number,
  stride: BatchStride,
): number {
  const outerLast = Math.floor((batch - 1) / inner);
  const innerLast = Math.min(batch - 1, inner - 1);
  return off + outerLast * stride[0] + innerLast * stride[1] + (rows - 1) * ld + (cols - 1);
}

/** Fills in the defaults: dense row-major operands, batch items one after another. */
function resolve(args: MatmulArgs): MatmulProblem {
  const { m, n, k } = args;
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const batch = args.batch ?? 1;
  const inner = args.inner ?? batch;
  return {
    a: args.a,
    b: args.b,
    c: args.c,
    m,
    n,
    k,
    transA,
    transB,
    bias: args.bias,
    accumulate: args.accumulate ?? false,
    alpha: args.alpha ?? 1,
    lda: args.lda ?? (transA ? m : k),
    ldb: args.ldb ?? (transB ? k : n),
    ldc: args.ldc ?? n,
    offA: args.offA ?? 0,
    offB: args.offB ?? 0,
    offC: args.offC ?? 0,
    batch,
    inner,
    strideA: args.strideA ?? [m * k * inner, m * k],
    strideB: args.strideB ?? [k * n * inner, k * n],
    strideC: args.strideC ?? [m * n * inner, m * n],
    label: args.label ?? "matmul",
  };
}

/** Bounds are checked here, once, so that a wrong stride is an error rather than silent garbage. */
function checkShapes(p: MatmulProblem): void {
  const { m, n, k, batch, inner } = p;
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0 || inner <= 0) {
    throw new TrompeError(
      "shape-mismatch",
      `matmul ${p.label} with an empty dimension: ${m}×${n}×${k}, batch ${batch}, inner ${inner}`,
    );
  }
  const checks: [Tensor, number, string][] = [
    [p.a, lastIndex(p.transA ? k : m, p.transA ? m : k, p.lda, p.offA, batch, inner, p.strideA), "A"],
    [p.b, lastIndex(p.transB ? n : k, p.transB ? k : n, p.ldb, p.offB, batch, inner, p.strideB), "B"],
    [p.c, lastIndex(m, n, p.ldc, p.offC, batch, inner, p.strideC), "C"],
  ];
  for (const [t, last, which] of checks) {
    if (last >= t.size) {
      throw new TrompeError(
        "shape-mismatch",
        `matmul ${p.label} reads ${which} (${t.name}, ${t.size} elements) up to element ${last}`,
      );
    }
  }
  if (p.bias && p.bias.size < n) {
    throw new TrompeError("shape-mismatch", `bias ${p.bias.name} has ${p.bias.size} values for ${n} columns`);
  }
}

/**
 * On a CPU adapter, a batch of small products (attention's heads at a few dozen tokens, the position
 * embedding's per-row resize) runs as one dispatch of the tiled kernel with 8×8 invocations: the CPU path
 * copies each item's operands into textures and multiplies them one item at a time, three dispatches an
 * item, and at these sizes a dispatch's fixed cost on lavapipe outweighs the product. Measured on lavapipe
 * (16 items, µs a batch, CPU path → tiled): 26×26×16 4565 → 1347, 26×16×26 4155 → 1310, 50×50×16 5016 →
 * 3029, 82×82×16 6086 → 5963 (even), 145×145×16 7252 → 12150 (the CPU path ahead); 37 items of 5×64×37
 * 10017 → 5486.
 */
export const SMALL_BATCHED_PRODUCT = 50 * 50 * 16;
const SMALL_BATCHED_TILES: MatmulTiles = { wgX: 8, wgY: 8, tileK: 16 };

function smallBatchedProduct(p: MatmulProblem): boolean {
  return p.batch > 1 && p.m * p.n * p.k <= SMALL_BATCHED_PRODUCT;
}

export function matmul(rt: Runtime, args: MatmulArgs): void {
  const p = resolve(args);
  checkShapes(p);
  const variant = args.variant ?? "auto";
  if (variant === "cpu" && !cpuPathFits(rt, p)) {
    throw new TrompeError(
      "bad-argument",
      `matmul ${p.label}: ${p.m}×${p.n}×${p.k} does not fit the CPU path's operand textures ` +
        `(${rt.ctx.limits.maxTextureDimension2D} texels a side)`,
    );
  }
  const smallBatched = variant === "auto" && rt.ctx.isCpu && smallBatchedProduct(p);
  if (variant === "cpu" || (variant === "auto" && rt.ctx.isCpu && !smallBatched && cpuPathFits(rt, p))) {
    matmulCpu(rt, p);
    return;
  }
  if (variant === "tile128" || (variant === "auto" && !rt.ctx.isCpu)) {
    rt.dispatch(
      MATMUL_TILE128_KERNEL,
      { TRANS_A: p.transA, TRANS_B: p.transB, HAS_BIAS: p.bias !== undefined, ACCUMULATE: p.accumulate },
      elementParams(p, 1),
      [p.a, p.b, p.bias ?? rt.unused, p.c],
      [Math.ceil(p.n / TILE_N), Math.ceil(p.m / TILE_M), p.batch],
      p.label,
    );
    return;
  }
  const aligned = vec4Compatible([
    p.k,
    p.n,
    p.transA ? p.m : 0,
    p.lda,
    p.ldb,
    p.ldc,
    p.offA,
    p.offB,
    p.offC,
    ...p.strideA,
    ...p.strideB,
    ...p.strideC,
  ]);
  if (variant === "vec4" && !aligned) {
    throw new TrompeError("bad-argument", `matmul ${p.label}: shape or strides not multiples of 4`);
  }
  // A CPU adapter's fallback (operands too large for its textures): no workgroup memory, which is slow there.
  const useVec4 = variant === "vec4" || (variant === "auto" && aligned && !smallBatched);
  const tiles = args.tiles ?? (smallBatched ? SMALL_BATCHED_TILES : DEFAULT_TILES);
  const q = useVec4 ? 4 : 1; // the vec4 kernel counts addresses in vec4s
  const tileM = tiles.wgY * 4;
  const tileN = tiles.wgX * 4;
  rt.dispatch(
    useVec4 ? MATMUL_VEC4_KERNEL : MATMUL_KERNEL,
    {
      WG_X: tiles.wgX,
      WG_Y: tiles.wgY,
      ...(useVec4 ? {} : { TILE_K: tiles.tileK }),
      TRANS_A: p.transA,
      TRANS_B: p.transB,
      HAS_BIAS: p.bias !== undefined,
      ACCUMULATE: p.accumulate,
    },
    elementParams(p, q),
    [p.a, p.b, p.bias ?? rt.unused, p.c],
    [Math.ceil(p.n / tileN), Math.ceil(p.m / tileM), p.batch],
    p.label,
  );
}

/** The kernels' Params: shape, then leading dimensions, offsets and strides in units of `q` elements. */
function elementParams(p: MatmulProblem, q: number) {
  return [
    p.m,
    p.n,
    p.k,
    p.lda / q,
    p.ldb / q,
    p.ldc / q,
    p.offA / q,
    p.offB / q,
    p.offC / q,
    p.inner,
    p.strideA[0] / q,
    p.strideA[1] / q,
    p.strideB[0] / q,
    p.strideB[1] / q,
    p.strideC[0] / q,
    p.strideC[1] / q,
    f32(p.alpha),
  ];
}
