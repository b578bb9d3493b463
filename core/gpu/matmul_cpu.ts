/**
 * The matmul path for CPU adapters (lavapipe/llvmpipe): kernels/matmul_cpu.wgsl reads A and B from
 * rgba32float textures, because there a texel fetch is straight-line SIMD code while a storage-buffer load in
 * a loop is a branchy scalar loop over the lanes (see the kernel's header). Each product first copies op(A)
 * and op(B) into scratch textures ("scratch/matmul-pack", freed as soon as the product is submitted) with
 * kernels/matmul_pack.wgsl, which also takes care of transposes, offsets, leading dimensions, batch strides
 * and zero padding, so the product kernel has none of them. The copies read and write each operand element
 * once, against 2·M·N·K FLOPs: a few percent of the time at ViT shapes.
 */
import type { KernelSpec } from "./kernels.ts";
import type { BatchStride, MatmulProblem } from "./matmul.ts";
import { f32 } from "./params.ts";
import type { PoolBuffer } from "./pool.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { COLS, ROWS } from "../../kernels/matmul_cpu.gen.ts";

export const MATMUL_CPU_KERNEL: KernelSpec = {
  file: "matmul_cpu.wgsl",
  entry: "main",
  bindings: ["uniform", "texture", "texture", "read", "storage"],
};

export const MATMUL_PACK_KERNEL: KernelSpec = {
  file: "matmul_pack.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "storage-texture"],
};

/**
 * Invocations per workgroup. Lavapipe runs one workgroup on one thread, its invocations as the lanes of
 * 8-wide SIMD (256-bit AVX2), so 8 fills the lanes exactly; more would only make each workgroup a longer
 * serial task and the split of the work between threads coarser.
 */
export const CPU_WG_X = 8;

// kernels/matmul_cpu.wgsl's epilogue flags
const EPILOGUE_BIAS = 1;
const EPILOGUE_ACCUMULATE = 2;

const PACK_WG_X = 64; // kernels/matmul_pack.wgsl's @workgroup_size

/** An operand as stored: op(X) is `rows`×`cols`; `trans` = X is stored as [cols, rows]. */
interface Operand {
  tensor: Tensor;
  rows: number;
  cols: number;
  ld: number;
  off: number;
  stride: BatchStride;
  trans: boolean;
}

/**
 * llvmpipe compiles a separate variant of a shader for each combination of its textures' sides being powers
 * of two or not, and this one takes seconds to compile: so every side is made a non-power of two (one more
 * texel, zero, never read) and all products share one variant.
 */
const nonPowerOfTwo = (side: number) => ((side & (side - 1)) === 0 ? side + 1 : side);

/** Texture sizes (texels) of the operand copies: A is M rows of ⌈K/4⌉ texels, B is 4⌈K/4⌉ rows of ⌈N/4⌉. */
function textureShapes(p: MatmulProblem): { a: [number, number]; b: [number, number] } {
  const k4 = Math.ceil(p.k / 4);
  const side = nonPowerOfTwo;
  return { a: [side(k4), side(p.m)], b: [side(Math.ceil(p.n / 4)), side(4 * k4)] };
}

/** Whether the operand copies fit the adapter's texture limits (else matmul() takes the GPU kernels). */
export function cpuPathFits(rt: Runtime, p: MatmulProblem): boolean {
  const { maxTextureDimension2D, maxTextureArrayLayers } = rt.ctx.limits;
  const { a, b } = textureShapes(p);
  return [...a, ...b].every((d) => d <= maxTextureDimension2D) && p.batch <= maxTextureArrayLayers;
}

/** Copies op(X) of every batch item into a new scratch texture of `width`×`height` texels per layer. */
function pack(rt: Runtime, x: Operand, [width, height]: [number, number], p: MatmulProblem): PoolBuffer {
  const texture = rt.pool.allocTexture(
    "scratch/matmul-pack",
    width,
    height,
    p.batch,
    GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.STORAGE_BINDING,
  );
  rt.dispatch(
    MATMUL_PACK_KERNEL,
    { TRANS: x.trans },
    [x.rows, x.cols, x.ld, x.off, p.inner, x.stride[0], x.stride[1]],
    [x.tensor, texture],
    [Math.ceil(width / PACK_WG_X), height, p.batch],
    `${p.label}/pack`,
  );
  return texture;
}

export function matmulCpu(rt: Runtime, p: MatmulProblem): void {
  const shapes = textureShapes(p);
  const a = pack(
    rt,
    {
      tensor: p.a,
      rows: p.m,
      cols: p.k,
      ld: p.lda,
      off: p.offA,
      stride: p.strideA,
      trans: p.transA,
    },
    shapes.a,
    p,
  );
  const b = pack(
    rt,
    {
      tensor: p.b,
      rows: p.k,
      cols: p.n,
      ld: p.ldb,
      off: p.offB,
      stride: p.strideB,
      trans: p.transB,
    },
    shapes.b,
    p,
  );
  rt.dispatch(
    MATMUL_CPU_KERNEL,
    { WG_X: CPU_WG_X },
    [
      p.m,
      p.n,
      Math.ceil(p.k / 4),
      p.ldc,
      p.offC,
      p.inner,
      p.strideC[0],
      p.strideC[1],
      f32(p.alpha),
      (p.bias ? EPILOGUE_BIAS : 0) | (p.accumulate ? EPILOGUE_ACCUMULATE : 0),
    ],
    [a, b, p.bias ?? rt.unused, p.c],
    [Math.ceil(p.n / (COLS * CPU_WG_X)), Math.ceil(p.m / ROWS), p.batch],
    p.label,
  );
  // A texture destroyed before the commands that use it are submitted would make the submit invalid.
  rt.flush();
  rt.pool.free(a);
  rt.pool.free(b);
}
