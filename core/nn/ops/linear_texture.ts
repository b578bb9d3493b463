/**
 * A linear layer on the CPU product path whose input or output is an operand texture rather than a buffer
 * (kernels/matmul_cpu_texture.wgsl writes one): texel (c4, r) = row r's values 4c4 .. 4c4+3, zero past the
 * row's length — the layout the CPU product reads as its A operand and the fused attention reads its qkv
 * rows from. For ops whose layers feed only such kernels (core/nn/ops/mlp.ts, attention's inference path).
 */
import {
  operandTexture,
  packOperand,
  productIntoTexture,
  productOnTextures,
  textureShapes,
} from "../../gpu/matmul_cpu.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { LinearWeights } from "./linear.ts";

/** W [out, in] is Wᵀ stored transposed: the product reads its texels along k, as W lies (no transposing copy). */
const WEIGHT_LAYOUT = { aMPacked: false, bKPacked: true };

/** The textures of y = x·Wᵀ for `rows` rows: x's, W's, and y's own (the A operand of a product with K = out). */
function shapes(rows: number, inF: number, outF: number) {
  const { a, b } = textureShapes({ m: rows, n: outF, k: inF }, WEIGHT_LAYOUT);
  return { x: a, w: b, y: textureShapes({ m: rows, n: 1, k: outF }).a };
}

/** Whether y = x·Wᵀ for `rows` rows fits the CPU path's textures, y's own texture included. */
export function linearTextureFits(rt: Runtime, rows: number, inF: number, outF: number): boolean {
  const s = shapes(rows, inF, outF);
  return [...s.x, ...s.w, ...s.y].every((d) => d <= rt.ctx.limits.maxTextureDimension2D);
}

/** W copied as it lies into its operand texture; the caller frees it with `rt.pool.free`. */
function weightTexture(rt: Runtime, w: LinearWeights, size: [number, number], label: string): PoolBuffer {
  const [outF, inF] = w.weight.shape;
  const texture = operandTexture(rt, size);
  packOperand(
    rt,
    { tensor: w.weight, rows: outF, cols: inF, ld: inF, trans: false, rowsAlongK: false, off: 0 },
    texture,
    size,
    label,
  );
  return texture;
}

/**
 * y = x·Wᵀ + b (through GELU with `gelu`) for x [..., in] as its rows, into a new operand texture of
 * ⌈out/4⌉ × rows texels (sides non-powers of two); the caller frees it with `rt.pool.free`.
 */
export function linearIntoTexture(
  rt: Runtime,
  x: Tensor,
  w: LinearWeights,
  options: { gelu: boolean; label: string },
): PoolBuffer {
  const [outF, inF] = w.weight.shape;
  const rows = x.size / inF;
  const s = shapes(rows, inF, outF);
  const texX = operandTexture(rt, s.x);
  const xRows = { tensor: x, rows, cols: inF, ld: inF, trans: false, rowsAlongK: false, off: 0 };
  packOperand(rt, xRows, texX, s.x, options.label);
  const texW = weightTexture(rt, w, s.w, options.label);
  const out = operandTexture(rt, s.y);
  const product = {
    m: rows,
    n: outF,
    k: inF,
    bias: w.bias,
    gelu: options.gelu,
    layout: WEIGHT_LAYOUT,
    label: options.label,
  };
  productIntoTexture(rt, product, texX, texW, out);
  // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
  rt.pool.free(texX);
  rt.pool.free(texW);
  return out;
}

/** y = x·Wᵀ + b into the buffer `y` [rows, out], x being `rows` rows in an operand texture (as above). */
export function linearFromTexture(
  rt: Runtime,
  texX: PoolBuffer,
  rows: number,
  w: LinearWeights,
  y: Tensor,
  label: string,
): void {
  const [outF, inF] = w.weight.shape;
  const texW = weightTexture(rt, w, shapes(rows, inF, outF).w, label);
  const product = { m: rows, n: outF, k: inF, c: y, ldc: outF, offC: 0, accumulate: false, label };
  productOnTextures(rt, { ...product, bias: w.bias, biasPerColumn: true, layout: WEIGHT_LAYOUT }, texX, texW);
  rt.pool.free(texW);
}
