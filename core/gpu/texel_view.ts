/**
 * Tensors copied into rgba32float textures for the memory-bound kernels of CPU adapters. On lavapipe a load
 * from a storage buffer is a scalar loop over the SIMD lanes with a branch and a bounds check per
 * component, while an image load is straight-line SIMD code, and a buffer-to-texture copy is a memcpy
 * (0.06–0.16 ms for 2.1 MB). Measured on lavapipe 22.3 (2 cores), 1370×384 floats: LayerNorm's forward
 * 10.3–11.7 ms reading the buffer, 1.3–1.9 ms reading a copy (the copy included); a per-channel multiply
 * 4.4–5.5 against 1.0–1.1 ms. Stores stay storage-buffer stores: an image store measured no cheaper.
 *
 * The layout is flat: texel t (the tensor's values 4t .. 4t+3) sits at (t mod W, t / W), W = 2^shift texels
 * a row, so a kernel finds any element with a mask and a shift whatever the tensor's shape. Every texture a
 * dispatch reads takes the same W (`texelShift` of its largest tensor): one `shift` parameter serves all.
 */
import { nonPowerOfTwo } from "./matmul_cpu.ts";
import type { PoolBuffer } from "./pool.ts";
import type { Runtime } from "./runtime.ts";
import type { Tensor } from "./tensor.ts";
import { TrompeError } from "../errors.ts";

/** Texels a row at least: 1 KiB rows, a multiple of the 256 bytes a copy's rows must lie apart. */
export const MIN_SHIFT = 6;

/**
 * Below this many floats a view's copy and texture cost more than the loads they spare: a per-channel
 * multiply and a LayerNorm of 26×64 floats (the demo model's tokens) took 0.68–0.93 ms by views against
 * 0.55–0.87 by buffers on lavapipe, 65×64 about the same, 260×64 0.81–1.42 against 1.62–1.73.
 */
export const MIN_VIEW_FLOATS = 4096;

/**
 * Whether a tensor of `n` floats is read through a texel view: on a CPU adapter, whole texels, at least
 * `MIN_VIEW_FLOATS`.
 */
export function texelViewsApply(rt: Runtime, n: number): boolean {
  return rt.ctx.isCpu && n >= MIN_VIEW_FLOATS && n % 4 === 0;
}

/** The row width (log2 texels) that holds `n` floats within the adapter's texture side. */
export function texelShift(rt: Runtime, n: number): number {
  const side = rt.ctx.limits.maxTextureDimension2D;
  const texels = Math.ceil(n / 4);
  for (let shift = MIN_SHIFT; (1 << shift) < side; shift++) {
    if (nonPowerOfTwo(Math.ceil(texels / (1 << shift))) <= side) return shift;
  }
  throw new TrompeError("gpu", `${n} floats do not fit a ${side}-texel texture`);
}

/**
 * A copy of `size` floats of `tensor` from element `off` (both multiples of 4; default the whole tensor) in a
 * new texture, texel t (values off + 4t .. off + 4t + 3) at (t mod 2^shift, t / 2^shift). Sides are made
 * non-powers of two, as the CPU product's (llvmpipe compiles a shader variant per combination:
 * `nonPowerOfTwo`). The caller frees it with `rt.pool.free` once the dispatch that reads it is recorded (the
 * pool keeps a recorded texture safe).
 */
export function texelView(
  rt: Runtime,
  tensor: Tensor,
  shift: number,
  { off, size }: { off: number; size: number } = { off: 0, size: tensor.size },
): PoolBuffer {
  if (off % 4 !== 0 || size % 4 !== 0 || off + size > tensor.size) {
    throw new TrompeError(
      "bad-argument",
      `texel view of ${tensor.name} [${off}, ${off + size}) of ${tensor.size}`,
    );
  }
  const width = 1 << shift;
  const texels = size / 4;
  const texture = rt.pool.allocTexture(
    "scratch/texel-view",
    nonPowerOfTwo(width),
    nonPowerOfTwo(Math.ceil(texels / width)),
    GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
  );
  copyTexels(rt, tensor, off, texels, texture, width);
  return texture;
}

/**
 * Records the copy of `texels` texels of `tensor` from element `off` (a multiple of 4) into `texture`, flat
 * from row `y`, `width` texels a row: the whole rows in one copy, the partial last one in another.
 */
export function copyTexels(
  rt: Runtime,
  tensor: Tensor,
  off: number,
  texels: number,
  texture: PoolBuffer,
  width: number,
  y = 0,
): void {
  const full = Math.floor(texels / width);
  const tail = texels - full * width;
  if (full > 0) rt.copyToTexture(tensor, off, 4 * width, texture, width, full, y);
  if (tail > 0) rt.copyToTexture(tensor, off + 4 * width * full, 4 * width, texture, tail, 1, y + full);
}
