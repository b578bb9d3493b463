/**
 * DINOv2's MLP where nothing is kept for a backward: fc2(gelu(fc1(x))). On a CPU adapter (lavapipe) fc1's
 * product stores gelu(x·W1ᵀ + b1) straight into fc2's operand texture (kernels/matmul_cpu_texture.wgsl):
 * no hidden-layer buffer, no GELU pass and no copy of the hidden layer into a texture. At ViT-S's 518²
 * shape (1370 × 1536 hidden values) that took 1–6 % off the MLP's CPU time (median of 9 alternated, three
 * runs: bench/results/2026-12-06-cpu-step-before-after.md): the texel stores and GELU inside the product
 * cost part of what the passes did. Elsewhere, and where the operands outgrow a texture, it is the three
 * ops.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { geluForward } from "./gelu.ts";
import { linearFromTexture, linearIntoTexture, linearTextureFits } from "./linear_texture.ts";
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
  if (
    !rt.ctx.isCpu || !linearTextureFits(rt, rows, inF, hidden) || !linearTextureFits(rt, rows, hidden, outF)
  ) {
    const h = linearForward(rt, x, fc1, `${prefix}/fc1`);
    const g = geluForward(rt, h, `${prefix}/gelu`);
    release(rt, h);
    const y = linearForward(rt, g, fc2, `${prefix}/fc2`);
    release(rt, g);
    return y;
  }
  const hiddenTexture = linearIntoTexture(rt, x, fc1, { gelu: true, label: "linear/fc1" });
  const y = rt.tensor(`${prefix}/fc2`, [...x.shape.slice(0, -1), outF]);
  linearFromTexture(rt, hiddenTexture, rows, fc2, y, "linear/fc2");
  rt.pool.free(hiddenTexture);
  return y;
}
