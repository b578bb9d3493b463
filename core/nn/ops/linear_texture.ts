/**
 * A linear layer on the CPU product path whose output is the next kernel's operand texture rather than a
 * buffer (kernels/matmul_cpu_texture.wgsl): texel (n4, r) = y[r, 4n4 .. 4n4+3], zero past `out` — the layout
 * the CPU product reads as its A operand and the fused attention reads its qkv rows from. For ops whose
 * only reader of the layer's output is such a kernel (core/nn/ops/mlp.ts, attention's inference path).
 */
import {
  nonPowerOfTwo,
  operandTexture,
  packOperand,
  productIntoTexture,
  textureShapes,
} from "../../gpu/matmul_cpu.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import type { LinearWeights } from "./linear.ts";

/** Whether x [rows, in] · Wᵀ fits the CPU path's textures, its output texture included. */
export function linearTextureFits(rt: Runtime, rows: number, inF: number, outF: number): boolean {
  const { a, b } = textureShapes({ m: rows, n: outF, k: inF });
  const out = [nonPowerOfTwo(Math.ceil(outF / 4)), nonPowerOfTwo(rows)];
  return [...a, ...b, ...out].every((d) => d <= rt.ctx.limits.maxTextureDimension2D);
}

/**
 * y = x·Wᵀ + b (through GELU with `gelu`) for x [..., in] as `rows` rows, into a new operand texture of
 * ⌈out/4⌉ (a non-power of two) × rows texels; the caller frees it with `rt.pool.free`.
 */
export function linearIntoTexture(
  rt: Runtime,
  x: Tensor,
  w: LinearWeights,
  options: { gelu: boolean; label: string },
): PoolBuffer {
  const [outF, inF] = w.weight.shape;
  const rows = x.size / inF;
  const shapes = textureShapes({ m: rows, n: outF, k: inF });
  const texX = operandTexture(rt, shapes.a);
  packOperand(
    rt,
    { tensor: x, rows, cols: inF, ld: inF, trans: false, off: 0 },
    texX,
    shapes.a,
    options.label,
  );
  const texW = operandTexture(rt, shapes.b);
  const weight = { tensor: w.weight, rows: inF, cols: outF, ld: inF, trans: true, off: 0 };
  packOperand(rt, weight, texW, shapes.b, options.label);
  const out = operandTexture(rt, [nonPowerOfTwo(Math.ceil(outF / 4)), nonPowerOfTwo(rows)]);
  const product = { m: rows, n: outF, k: inF, bias: w.bias, gelu: options.gelu, label: options.label };
  productIntoTexture(rt, product, texX, texW, out);
  // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
  rt.pool.free(texX);
  rt.pool.free(texW);
  return out;
}
