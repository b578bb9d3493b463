/**
 * The matmul path for CPU adapters (lavapipe/llvmpipe): kernels/matmul_cpu.wgsl reads A and B from
 * rgba32float textures, because there a texel fetch is straight-line SIMD code while a storage-buffer load in
 * a loop is a branchy scalar loop over the lanes (see the kernel's header). Each product first copies A and
 * B as they are stored into scratch textures ("scratch/matmul-pack", freed once the product is recorded):
 * the kernel takes each operand's texels along whichever dimension is contiguous in its buffer (its
 * A_MPACKED / B_KPACKED layouts), so no copy transposes. Where rows are whole texels, 256-byte aligned, the
 * copy is a copyBufferToTexture — lavapipe's memcpy, 6–10× less CPU time than a kernel at ViT-S's shapes
 * (1370×1536 floats: 1.9 against 18.5 ms); else kernels/matmul_pack.wgsl copies, which also takes care of
 * offsets, leading dimensions and zero padding. Either way the product kernel has none of them. Convolutions
 * (core/nn/ops/conv_product.ts) fill the operand textures themselves (`operandTexture`, `packOperand`, their
 * own patch kernels) and run `productOnTextures`, whose store takes a convolution's epilogue.
 */
import { grid1d } from "./elementwise.ts";
import type { KernelSpec } from "./kernels.ts";
import type { BatchStride, MatmulProblem } from "./matmul.ts";
import { f32, type Param } from "./params.ts";
import type { PoolBuffer } from "./pool.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { COLS, ROWS } from "../../kernels/matmul_cpu.gen.ts";

export const MATMUL_CPU_KERNEL: KernelSpec = {
  file: "matmul_cpu.wgsl",
  entry: "main",
  bindings: ["uniform", "texture", "texture", "read", "storage", "read", "read", "read"],
};

/**
 * The same product with C's rows whole aligned texels, stored a vec4 at a time (kernels/matmul_cpu_vec4.wgsl:
 * on lavapipe each store is a loop over the lanes, one per vec4 there rather than one per float).
 */
const MATMUL_CPU_VEC4_KERNEL: KernelSpec = {
  file: "matmul_cpu_vec4.wgsl",
  entry: "main",
  bindings: ["uniform", "texture", "texture", "read", "storage"],
};

/** The same product, C stored as an operand texture (kernels/matmul_cpu_texture.wgsl). */
const MATMUL_CPU_TEXTURE_KERNEL: KernelSpec = {
  file: "matmul_cpu_texture.wgsl",
  entry: "main",
  bindings: ["uniform", "texture", "texture", "read", "storage-texture"],
};

const MATMUL_PACK_KERNEL: KernelSpec = {
  file: "matmul_pack.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "storage-texture"],
};

/**
 * Invocations per workgroup. Lavapipe runs one workgroup on one thread, its invocations as 8-wide SIMD
 * (256-bit AVX2), 8 lanes at a time. Two such groups per workgroup measured faster than one: on
 * 1370×4096×1024, kernel time by timestamps (min of 8, runs taken alternately): 8 → 374 / 332 ms, 16 →
 * 307 / 268 ms; in another stretch 16 → 233–240 ms, 32 → 247–249 ms. (How busy the shared host is moves
 * all of these by ±20 %, hence the alternation.) But a workgroup then spans 16 · COLS = 256 columns, and a
 * narrow product pays for the ones past N: attention's P·V (1370×64×1370) took 16 ms with 16 against 11 ms
 * with 8. So the width is chosen per product, for the least work counted with that advantage — which
 * shrank once the operands became storage textures: linear forwards at 1370 tokens, CPU ms with 8 / 16
 * lanes, median of 7 alternated in one process (lavapipe): ViT-S qkv 86 / 95, 106 / 119, 102 / 112 (three
 * runs; 16 lanes fill 1152 columns to 90 %), fc1 118 / 118, 145 / 143, 132 / 132; ViT-L fc2 951 / 847, qkv
 * 847 / 830. Fitted per lane, 16 lanes ran 1.00–1.12× as fast as 8: 1.05 it is.
 */
const WG_WIDTHS = [{ lanes: 16, speed: 1.05 }, { lanes: 8, speed: 1 }] as const;

/** Lane-steps an M×N product costs with the best width for its N, in units of the 8-lane width. */
function laneCost(m: number, n: number): { lanes: number; cost: number } {
  const rowBlocks = Math.ceil(m / ROWS);
  return WG_WIDTHS
    .map((w) => ({ lanes: w.lanes, cost: rowBlocks * Math.ceil(n / (COLS * w.lanes)) * w.lanes / w.speed }))
    .reduce((best, w) => (w.cost < best.cost ? w : best));
}

export function workgroupWidth(n: number): number {
  return laneCost(1, n).lanes;
}

const PACK_WG_X = 64; // kernels/matmul_pack.wgsl's @workgroup_size

/** Operand textures can be filled by a copy from a buffer as well as by a kernel. */
const OPERAND_USAGE = GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST;

/**
 * Which way the kernel reads each operand's texels: A's along m rather than k (`aMPacked`), B's along k
 * rather than n (`bKPacked`) — for an operand stored transposed, the way its buffer lies.
 */
export interface OperandLayout {
  aMPacked: boolean;
  bKPacked: boolean;
}

const PLAIN: OperandLayout = { aMPacked: false, bKPacked: false };

/** An operand as stored: op(X) is `rows`×`cols`; `trans` = X is stored as [cols, rows]. */
interface Operand {
  tensor: Tensor;
  rows: number;
  cols: number;
  ld: number;
  trans: boolean;
  /**
   * Whether the texture's rows run along k, where the kernel reads up to the next whole texel, so zeros
   * must follow the last row (default). A's rows (m) and a transposed B's (n) are clamped, never read past.
   */
  rowsAlongK?: boolean;
}

/**
 * llvmpipe compiles a separate variant of a shader for each combination of its textures' sides being powers
 * of two or not, and this one takes seconds to compile: so every side is made a non-power of two (zero
 * texels past the operand, never read) and all products share one variant. (Array textures would be another
 * variant again, which is one reason batch items go one at a time.)
 */
export function nonPowerOfTwo(side: number): number {
  if (side <= 2) return 3;
  return (side & (side - 1)) === 0 ? side + 1 : side;
}

/**
 * Texture sizes (texels) of the operand copies: A is M rows of ⌈K/4⌉ texels (aMPacked: 4⌈K/4⌉ rows of
 * ⌈M/4⌉), B is 4⌈K/4⌉ rows of ⌈N/4⌉ (bKPacked: N rows of ⌈K/4⌉) — rows along k padded to whole texels.
 */
export function textureShapes(
  p: { m: number; n: number; k: number },
  layout: OperandLayout = PLAIN,
): { a: [number, number]; b: [number, number] } {
  const k4 = Math.ceil(p.k / 4);
  const side = nonPowerOfTwo;
  return {
    a: layout.aMPacked ? [side(Math.ceil(p.m / 4)), side(4 * k4)] : [side(k4), side(p.m)],
    b: layout.bKPacked ? [side(k4), side(p.n)] : [side(Math.ceil(p.n / 4)), side(4 * k4)],
  };
}

/** Whether the operand copies fit the adapter's texture limits (else matmul() takes the GPU kernels). */
export function cpuPathFits(rt: Runtime, p: MatmulProblem): boolean {
  const kp = kernelProduct(p);
  const { a, b } = textureShapes({ m: kp.m, n: kp.n, k: p.k }, kp.layout);
  return [...a, ...b].every((d) => d <= rt.ctx.limits.maxTextureDimension2D);
}

/** Element offset of batch item z = outer·inner + i: off + outer·stride[0] + i·stride[1]. */
function itemOffset(off: number, stride: BatchStride, z: number, inner: number): number {
  return off + Math.floor(z / inner) * stride[0] + (z % inner) * stride[1];
}

/**
 * Whether op(X) can be copied into its texture as it is stored: straight, in rows of whole texels (where
 * the rows run along k, no texel past K then needs the zeros a copy does not write), 256 bytes apart
 * (WebGPU's rule for a buffer-to-texture copy).
 */
function copyable(x: Operand, off: number): boolean {
  return !x.trans && x.cols % 4 === 0 && x.ld >= x.cols && (x.ld * 4) % 256 === 0 && off % 4 === 0;
}

/**
 * Zeros the rows of a copied operand up to the next multiple of 4 where its rows run along k: the kernel
 * reads them, and a reused texture holds whatever its last user left (tests/gpu/matmul.test.ts leaves NaN).
 * A texture `height` rows high has room for them where its rows do run along k (`textureShapes`).
 */
function zeroRowsPastK(rt: Runtime, x: Operand, texture: PoolBuffer, height: number): void {
  const past = (x.rowsAlongK ?? true) ? (4 - x.rows % 4) % 4 : 0;
  const count = Math.min(past, height - x.rows);
  if (count <= 0) return;
  const ld = Math.ceil(x.cols / 64) * 64; // floats a row: a multiple of 256 bytes
  const zeros = rt.tensor("scratch/zero-rows", [count * ld]);
  rt.copyToTexture(zeros, 0, ld, texture, x.cols / 4, count, x.rows);
  rt.free(zeros);
}

/** Records the copy of op(X) of one batch item into `texture` (width×height texels). */
function pack(
  rt: Runtime,
  x: Operand,
  off: number,
  texture: PoolBuffer,
  [width, height]: [number, number],
  label: string,
) {
  if (copyable(x, off)) {
    rt.copyToTexture(x.tensor, off, x.ld, texture, x.cols / 4, x.rows);
    zeroRowsPastK(rt, x, texture, height);
    return;
  }
  // Stored straight and aligned: a vec4 a texel (kernels/matmul_pack.wgsl's main_vec4).
  const quads = !x.trans && [x.cols, x.ld, off].every((v) => v % 4 === 0);
  rt.dispatch(
    quads ? { ...MATMUL_PACK_KERNEL, entry: "main_vec4" } : MATMUL_PACK_KERNEL,
    quads ? {} : { TRANS: x.trans },
    [x.rows, x.cols, x.ld, off],
    [x.tensor, texture],
    // kernels/matmul_pack.wgsl: one invocation a texel, numbered in one dimension
    grid1d(width * height, PACK_WG_X),
    `${label}/pack`,
  );
}

/** One side of the product the kernel runs, with where each batch item of it starts. */
interface KernelOperand extends Operand {
  off: number;
  stride: BatchStride;
}

/** An operand as its buffer stores it: op(X) itself, or, for one stored transposed, X. */
function asStored(x: KernelOperand): KernelOperand {
  return x.trans ? { ...x, rows: x.cols, cols: x.rows, trans: false } : x;
}

/**
 * The product the kernel runs: C = op(A)·op(B) itself, or — when C is narrow, as attention's P·V with its 64
 * columns, and there is no bias (which the kernel adds per column) — Cᵀ = op(B)ᵀ·op(A)ᵀ stored transposed,
 * whichever leaves fewer lanes idle past the last column. Its operands are copied as stored, the layout
 * saying which way the kernel reads each (`OperandLayout`), so neither choice transposes a copy.
 */
function kernelProduct(p: MatmulProblem) {
  const a: KernelOperand = {
    tensor: p.a,
    rows: p.m,
    cols: p.k,
    ld: p.lda,
    trans: p.transA,
    off: p.offA,
    stride: p.strideA,
  };
  const b: KernelOperand = {
    tensor: p.b,
    rows: p.k,
    cols: p.n,
    ld: p.ldb,
    trans: p.transB,
    off: p.offB,
    stride: p.strideB,
  };
  const straight = laneCost(p.m, p.n);
  const swapped = laneCost(p.n, p.m);
  const run = (m: number, n: number, a: KernelOperand, b: KernelOperand, lanes: number, transC: boolean) => ({
    m,
    n,
    a: { ...asStored(a), rowsAlongK: a.trans },
    b: { ...asStored(b), rowsAlongK: !b.trans },
    layout: { aMPacked: a.trans, bKPacked: b.trans },
    lanes,
    transC,
  });
  if (p.bias || swapped.cost >= straight.cost) return run(p.m, p.n, a, b, straight.lanes, false);
  // op(B)ᵀ is op(B) stored the other way round, and likewise op(A)ᵀ.
  const bT = { ...b, rows: p.n, cols: p.k, trans: !p.transB };
  const aT = { ...a, rows: p.k, cols: p.m, trans: !p.transA };
  return run(p.n, p.m, bT, aT, swapped.lanes, true);
}

/**
 * Batch items run one after another through the same pair of scratch textures (dispatches in one pass are
 * ordered, so a copy never overwrites what an earlier product still reads): the scratch is one item's size.
 */
export function matmulCpu(rt: Runtime, p: MatmulProblem): void {
  const kp = kernelProduct(p);
  const shapes = textureShapes({ m: kp.m, n: kp.n, k: p.k }, kp.layout);
  const texA = operandTexture(rt, shapes.a);
  const texB = operandTexture(rt, shapes.b);
  const vec4 = storesTexels(p, kp.transC);
  const constants = {
    WG_X: kp.lanes,
    HAS_BIAS: p.bias !== undefined,
    ACCUMULATE: p.accumulate,
    ...(vec4 ? {} : { TRANS_C: kp.transC }),
    ...layoutConstants(kp.layout),
  };
  const unusedEpilogue = vec4 ? [] : [rt.unused, rt.unused, rt.unused];
  for (let z = 0; z < p.batch; z++) {
    pack(rt, kp.a, itemOffset(kp.a.off, kp.a.stride, z, p.inner), texA, shapes.a, p.label);
    pack(rt, kp.b, itemOffset(kp.b.off, kp.b.stride, z, p.inner), texB, shapes.b, p.label);
    rt.dispatch(
      vec4 ? MATMUL_CPU_VEC4_KERNEL : MATMUL_CPU_KERNEL,
      constants,
      productParams(kp.m, kp.n, p.k, p.ldc, itemOffset(p.offC, p.strideC, z, p.inner), f32(p.alpha)),
      [texA, texB, p.bias ?? rt.unused, p.c, ...unusedEpilogue],
      [Math.ceil(kp.n / (COLS * kp.lanes)), Math.ceil(kp.m / ROWS)],
      p.label,
    );
  }
  // Freed while recorded: the pool reuses or destroys it safely (core/gpu/runtime.ts).
  rt.pool.free(texA);
  rt.pool.free(texB);
}

/**
 * Whether every batch item's C is rows of whole texels on 16-byte boundaries, stored straight: what
 * kernels/matmul_cpu_vec4.wgsl stores. (A transposed C would need vec4s down its columns.)
 */
function storesTexels(p: MatmulProblem, transC: boolean): boolean {
  return !transC && [p.n, p.ldc, p.offC, ...p.strideC].every((v) => v % 4 === 0);
}

/** An operand texture of the CPU path, for a caller that fills it itself (`packOperand`, its own kernel). */
export function operandTexture(rt: Runtime, [width, height]: [number, number]): PoolBuffer {
  return rt.pool.allocTexture("scratch/matmul-pack", width, height, OPERAND_USAGE);
}

/** The kernel's layout constants, only those that are on (a plain product shares one pipeline). */
function layoutConstants(layout: OperandLayout = PLAIN): Record<string, boolean> {
  return onlyTrue({ A_MPACKED: layout.aMPacked, B_KPACKED: layout.bKPacked });
}

/** Records the copy of op(X) (`rows`×`cols`, from element `off`) into an operand texture. */
export function packOperand(
  rt: Runtime,
  x: Operand & { off: number },
  texture: PoolBuffer,
  size: [number, number],
  label: string,
): void {
  pack(rt, x, x.off, texture, size, label);
}

/**
 * C (+)= op(A)·op(B) from operand textures its caller filled (A: `textureShapes(…).a` texels, op(A)[m,
 * 4kq..4kq+3] at (kq, m), zero past K; B: `.b`, op(B)[k, 4t..4t+3] at (t, k), zero past K rows), element
 * (m, n) of C at offC + m·ldc + n, or offC + n·ldc + m with `transC`; with a convolution's epilogue, where
 * C is [Cout, pixels]: a bias per row, ReLU, then a residual added or a ReLU mask applied (`res`, indexed
 * as C), then `accumulate`.
 */
export interface TextureProduct {
  m: number;
  n: number;
  k: number;
  c: Tensor;
  ldc: number;
  offC: number;
  transC?: boolean;
  accumulate: boolean;
  /** One value per row of C (a convolution's), or per column with `biasPerColumn` (a linear layer's). */
  bias?: Tensor;
  biasPerColumn?: boolean;
  reluOut?: boolean;
  res?: Tensor;
  /** Zero C where res ≤ 0, rather than adding res. */
  maskByRes?: boolean;
  /**
   * B is a stride-1 convolution's input as rows of padded pixels and C its weight gradient (the kernel's
   * TAP_ROWS): n = tap·4·tapTexels + ci runs over the taps of a `kh`×`kw` kernel, the padded row `pitch`
   * pixels long, and only channels below `cin` are stored.
   */
  tapRows?: { tapTexels: number; kh: number; kw: number; pitch: number; cin: number };
  /**
   * B (`bKPacked` layout) is a stride-1 convolution's input as rows of padded pixels and C its output (the
   * kernel's CONV_ROWS): k = tap·4·tapTexels + ci, column n a position on the padded grid `pitch` pixels
   * wide, stored at (n / pitch)·ow + n mod pitch where n mod pitch < `ow`.
   */
  convRows?: { tapTexels: number; kw: number; pitch: number; ow: number };
  /**
   * With `convRows`, M ≤ the kernel's ROWS and no `res` or `accumulate`: C's rows, after the epilogue, go
   * through a 1×1 convolution to one channel (weight [1, M, 1, 1], bias [1] or none) into C's one row —
   * the values, to the bit, of storing them and running that conv (the kernel's POINTWISE_OUT).
   */
  pointwise?: { weight: Tensor; bias?: Tensor };
  /** How the textures hold A and B (`textureShapes` with the same layout); plain by default. */
  layout?: OperandLayout;
  label: string;
}

/** The kernel's uniform: the product, then the TAP_ROWS or CONV_ROWS geometry (zeros where both are off). */
function productParams(
  m: number,
  n: number,
  k: number,
  ldc: number,
  offC: number,
  alpha: Param,
  conv: Pick<TextureProduct, "tapRows" | "convRows"> = {},
): Param[] {
  const t = conv.tapRows, r = conv.convRows;
  const taps = t
    ? [t.tapTexels, t.kw, t.pitch, t.kh * t.kw, t.cin, 0]
    : r
    ? [r.tapTexels, r.kw, r.pitch, 0, 0, r.ow]
    : [0, 0, 0, 0, 0, 0];
  return [m, n, Math.ceil(k / 4), ldc, offC, alpha, ...taps];
}

export function productOnTextures(rt: Runtime, p: TextureProduct, texA: PoolBuffer, texB: PoolBuffer): void {
  if (p.pointwise && (!p.convRows || p.m > ROWS || p.res || p.accumulate)) {
    throw new Error(
      `${p.label}: a pointwise epilogue needs a conv over rows, M ≤ ${ROWS}, no res, no accumulate`,
    );
  }
  const lanes = laneCost(p.m, p.n).lanes;
  rt.dispatch(
    MATMUL_CPU_KERNEL,
    {
      WG_X: lanes,
      HAS_BIAS: p.bias !== undefined,
      ACCUMULATE: p.accumulate,
      TRANS_C: p.transC ?? false,
      // Only the epilogue options that are on: a product without them shares matmulCpu's pipeline.
      ...onlyTrue({
        BIAS_ROWS: p.bias !== undefined && !p.biasPerColumn,
        RELU_OUT: p.reluOut ?? false,
        ADD_RES: p.res !== undefined && !p.maskByRes,
        MASK_RES: p.res !== undefined && (p.maskByRes ?? false),
        TAP_ROWS: p.tapRows !== undefined,
        CONV_ROWS: p.convRows !== undefined,
        POINTWISE_OUT: p.pointwise !== undefined,
        PW_BIAS: p.pointwise?.bias !== undefined,
      }),
      ...layoutConstants(p.layout),
    },
    productParams(p.m, p.n, p.k, p.ldc, p.offC, f32(1), p),
    [
      texA,
      texB,
      p.bias ?? rt.unused,
      p.c,
      p.res ?? rt.unused,
      p.pointwise?.weight ?? rt.unused,
      p.pointwise?.bias ?? rt.unused,
    ],
    [Math.ceil(p.n / (COLS * lanes)), Math.ceil(p.m / ROWS)],
    p.label,
  );
}

function onlyTrue(flags: Record<string, boolean>): Record<string, boolean> {
  return Object.fromEntries(Object.entries(flags).filter(([, on]) => on));
}

/**
 * op(A)·op(B) + bias per column, through GELU with `gelu`, stored into `out` as the A operand of a next
 * product whose K is this one's N (`textureShapes({ m, n: …, k: n }).a`), zero past N.
 */
export function productIntoTexture(
  rt: Runtime,
  p: { m: number; n: number; k: number; bias?: Tensor; gelu: boolean; layout?: OperandLayout; label: string },
  texA: PoolBuffer,
  texB: PoolBuffer,
  out: PoolBuffer,
): void {
  const lanes = laneCost(p.m, p.n).lanes;
  rt.dispatch(
    MATMUL_CPU_TEXTURE_KERNEL,
    { WG_X: lanes, HAS_BIAS: p.bias !== undefined, GELU_OUT: p.gelu, ...layoutConstants(p.layout) },
    productParams(p.m, p.n, p.k, 0, 0, f32(1)),
    [texA, texB, p.bias ?? rt.unused, out],
    [Math.ceil(p.n / (COLS * lanes)), Math.ceil(p.m / ROWS)],
    p.label,
  );
}
