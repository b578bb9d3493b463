/**
 * DINOv2's MLP where nothing is kept for a backward: fc2(gelu(fc1(x))). On a CPU adapter (lavapipe) fc1's
 * product stores gelu(x·W1ᵀ + b1) straight into fc2's operand texture (kernels/matmul_cpu_texture.wgsl):
 * no hidden-layer buffer, no GELU pass and no copy of the hidden layer into a texture — at ViT-S's 518²
 * shape (1370 × 1536 hidden values) those were about a fifth of the MLP's CPU time. Elsewhere, and where
 * the operands outgrow a texture, it is the three ops.
 */
import {
  operandTexture,
  packOperand,
  productIntoTexture,
  productOnTextures,
  textureShapes,
} from "../../gpu/matmul_cpu.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { geluForward } from "./gelu.ts";
import { linearForward, type LinearWeights } from "./linear.ts";
import { release } from "./release.ts";

/** y [..., out] = fc2(gelu(fc1(x))) for x [..., in], into a new tensor `${prefix}/fc2`. */
export function mlpForward(
  rt: Runtime,
  x: Tensor,
  fc1: LinearWeights,
  fc2: LinearWeights,
  prefix: string,
): Tensor {
  const [hidden, inF] = fc1.weight.shape;
  const [outF] = fc2.weight.shape;
  if (fc2.weight.shape[1] !== hidden || x.size % inF !== 0) {
    throw new TrompeError(
      "shape-mismatch",
      `mlp: x ${x.name} [${x.shape}] through ${fc1.weight.name} [${fc1.weight.shape}] and ` +
        `${fc2.weight.name} [${fc2.weight.shape}]`,
    );
  }
  const rows = x.size / inF;
  const first = textureShapes({ m: rows, n: hidden, k: inF });
  const second = textureShapes({ m: rows, n: outF, k: hidden });
  const side = rt.ctx.limits.maxTextureDimension2D;
  const fits = [...first.a, ...first.b, ...second.a, ...second.b].every((d) => d <= side);
  if (!rt.ctx.isCpu || !fits) {
    const h = linearForward(rt, x, fc1, `${prefix}/fc1`);
    const g = geluForward(rt, h, `${prefix}/gelu`);
    release(rt, h);
    const y = linearForward(rt, g, fc2, `${prefix}/fc2`);
    release(rt, g);
    return y;
  }
  const texX = operandTexture(rt, first.a);
  packOperand(rt, { tensor: x, rows, cols: inF, ld: inF, trans: false, off: 0 }, texX, first.a, "linear/fc1");
  const texW1 = operandTexture(rt, first.b);
  const w1 = { tensor: fc1.weight, rows: inF, cols: hidden, ld: inF, trans: true, off: 0 };
  packOperand(rt, w1, texW1, first.b, "linear/fc1");
  const hiddenTexture = operandTexture(rt, second.a);
  const product1 = { m: rows, n: hidden, k: inF, bias: fc1.bias, gelu: true, label: "linear/fc1" };
  productIntoTexture(rt, product1, texX, texW1, hiddenTexture);
  // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
  rt.pool.free(texX);
  rt.pool.free(texW1);
  const texW2 = operandTexture(rt, second.b);
  const w2 = { tensor: fc2.weight, rows: hidden, cols: outF, ld: hidden, trans: true, off: 0 };
  packOperand(rt, w2, texW2, second.b, "linear/fc2");
  const y = rt.tensor(`${prefix}/fc2`, [...x.shape.slice(0, -1), outF]);
  productOnTextures(
    rt,
    {
      m: rows,
      n: outF,
      k: hidden,
      c: y,
      ldc: outF,
      offC: 0,
      accumulate: false,
      bias: fc2.bias,
      biasPerColumn: true,
      label: "linear/fc2",
    },
    hiddenTexture,
    texW2,
  );
  rt.pool.free(hiddenTexture);
  rt.pool.free(texW2);
  return y;
}
