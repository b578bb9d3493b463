/**
 * The TypeScript side of kernels/matmul.wgsl: C = alpha · op(A) · op(B) (+ bias) (+ C), batched.
 * The three products of a linear layer are A·B (forward with stored [in, out] weights), A·Bᵀ (forward with
 * PyTorch's [out, in] weights; backward to the input) and Aᵀ·B (backward to the weights).
 */
import type { KernelSpec } from "./kernels.ts";
import { f32 } from "./params.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { TrompeError } from "../errors.ts";

export const MATMUL_KERNEL: KernelSpec = {
  file: "matmul.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "read", "read", "storage"],
};

export const MATMUL_VEC4_KERNEL: KernelSpec = { ...MATMUL_KERNEL, file: "matmul_vec4.wgsl" };

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
  /** "auto": the vec4 kernel when every dimension, offset and stride allows it. */
  variant?: "auto" | "tiled" | "vec4";
  label?: string;
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

export function matmul(rt: Runtime, args: MatmulArgs): void {
  const { a, b, c, m, n, k } = args;
  const transA = args.transA ?? false;
  const transB = args.transB ?? false;
  const lda = args.lda ?? (transA ? m : k);
  const ldb = args.ldb ?? (transB ? k : n);
  const ldc = args.ldc ?? n;
  const batch = args.batch ?? 1;
  const inner = args.inner ?? batch;
  const strideA = args.strideA ?? [m * k * inner, m * k];
  const strideB = args.strideB ?? [k * n * inner, k * n];
  const strideC = args.strideC ?? [m * n * inner, m * n];
  const offA = args.offA ?? 0;
  const offB = args.offB ?? 0;
  const offC = args.offC ?? 0;
  const tiles = args.tiles ?? DEFAULT_TILES;
  if (m <= 0 || n <= 0 || k <= 0 || batch <= 0) {
    throw new TrompeError("shape-mismatch", `matmul with an empty dimension: ${m}×${n}×${k}, batch ${batch}`);
  }
  // Bounds are checked here, once, so that a wrong stride is an error rather than silent garbage.
  const checks: [Tensor, number, string][] = [
    [a, lastIndex(transA ? k : m, transA ? m : k, lda, offA, batch, inner, strideA), "A"],
    [b, lastIndex(transB ? n : k, transB ? k : n, ldb, offB, batch, inner, strideB), "B"],
    [c, lastIndex(m, n, ldc, offC, batch, inner, strideC), "C"],
  ];
  for (const [t, last, which] of checks) {
    if (last >= t.size) {
      throw new TrompeError(
        "shape-mismatch",
        `matmul ${args.label ?? ""} reads ${which} (${t.name}, ${t.size} elements) up to element ${last}`,
      );
    }
  }
  if (args.bias && args.bias.size < n) {
    throw new TrompeError(
      "shape-mismatch",
      `bias ${args.bias.name} has ${args.bias.size} values for ${n} columns`,
    );
  }
  const aligned = vec4Compatible([
    k,
    n,
    transA ? m : 0,
    lda,
    ldb,
    ldc,
    offA,
    offB,
    offC,
    ...strideA,
    ...strideB,
    ...strideC,
  ]);
  const variant = args.variant ?? "auto";
  if (variant === "vec4" && !aligned) {
    throw new TrompeError("bad-argument", `matmul ${args.label ?? ""}: shape or strides not multiples of 4`);
  }
  const useVec4 = variant === "vec4" || (variant === "auto" && aligned);
  const q = useVec4 ? 4 : 1; // the vec4 kernel counts addresses in vec4s
  const tileM = tiles.wgY * 4;
  const tileN = tiles.wgX * 4;
  rt.dispatch(
    useVec4 ? MATMUL_VEC4_KERNEL : MATMUL_KERNEL,
    {
      WG_X: tiles.wgX,
      WG_Y: tiles.wgY,
      ...(useVec4 ? {} : { TILE_K: tiles.tileK }),
      TRANS_A: transA,
      TRANS_B: transB,
      HAS_BIAS: args.bias !== undefined,
      ACCUMULATE: args.accumulate ?? false,
    },
    [
      m,
      n,
      k,
      lda / q,
      ldb / q,
      ldc / q,
      offA / q,
      offB / q,
      offC / q,
      inner,
      strideA[0] / q,
      strideA[1] / q,
      strideB[0] / q,
      strideB[1] / q,
      strideC[0] / q,
      strideC[1] / q,
      f32(args.alpha ?? 1),
    ],
    [a, b, args.bias ?? rt.unused, c],
    [Math.ceil(n / tileN), Math.ceil(m / tileM), batch],
    args.label ?? "matmul",
  );
}
