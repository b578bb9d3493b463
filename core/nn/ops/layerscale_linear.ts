/**
 * The backward of a LayerScale over a linear layer, out = x + γ ⊙ (u·Wᵀ + b) (a DINOv2 block's MLP branch:
 * u = gelu(h), W = fc2), without the branch's value u·Wᵀ + b. `layerScaleBackward` reads that value for γ's
 * gradient, so a recomputed block ran fc2's forward product for it alone; here γ's gradient comes from the
 * product the weight gradient runs anyway, taken before γ scales it (kernels/layerscale_linear.wgsl):
 *   G = dOutᵀ·u,   dW += γ ⊙_rows G,   dγ += Σ_j W ⊙ G + b ⊙ Σ_t dOut
 * the same sums as autograd's Σ_t dOut ⊙ (u·Wᵀ + b) and (γ ⊙ dOut)ᵀ·u, in another order.
 */
import { mul } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import { matmul } from "../../gpu/matmul.ts";
import { sumRows } from "../../gpu/reduce.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { linearBackward, type LinearWeights } from "./linear.ts";
import { release } from "./release.ts";

const WG = 64; // kernels/layerscale_linear.wgsl's default workgroup size
const GRADS: KernelSpec = {
  file: "layerscale_linear.wgsl",
  entry: "layerscale_linear_grad",
  bindings: ["uniform", "read", "read", "read", "read", "read", "storage", "storage"],
};

/**
 * Accumulates W's and b's gradients into `grads.linear` and γ's into `grads.gamma` (each absent when frozen);
 * returns du = (γ ⊙ dOut)·W as a new tensor `label`.
 */
export function layerScaleLinearBackward(
  rt: Runtime,
  u: Tensor,
  w: LinearWeights,
  gamma: Tensor,
  dOut: Tensor,
  grads: { linear?: LinearWeights; gamma?: Tensor },
  label: string,
): Tensor {
  const [outF, inF] = w.weight.shape;
  const rows = u.size / inF;
  if (!Number.isInteger(rows) || dOut.size !== rows * outF || gamma.size !== outF) {
    throw new TrompeError(
      "shape-mismatch",
      `layerscale linear backward: u ${u.name} [${u.shape}], ${w.weight.name} [${w.weight.shape}], ` +
        `γ ${gamma.name} [${gamma.shape}], dOut ${dOut.name} [${dOut.shape}]`,
    );
  }
  const dBranch = rt.tensor(`${label}/dbranch`, dOut.shape);
  mul(rt, dOut, gamma, dBranch, outF, "layerscale_backward");
  if (grads.linear?.bias) {
    sumRows(rt, dBranch, rows, outF, grads.linear.bias, {
      accumulate: true,
      label: "layerscale_linear_db",
    });
  }
  if (grads.linear || grads.gamma) {
    const g = rt.tensor(`${label}/dOutT_u`, [outF, inF]);
    matmul(rt, {
      a: dOut,
      b: u,
      c: g,
      m: outF,
      n: inF,
      k: rows,
      transA: true,
      label: "layerscale_linear_dW",
    });
    const bias = w.bias && grads.gamma ? w.bias : undefined;
    const sums = bias ? rt.tensor(`${label}/dOut_sums`, [outF]) : undefined;
    if (sums) sumRows(rt, dOut, rows, outF, sums, { label: "layerscale_dgamma" });
    // A frozen output's binding gets a buffer of its own: one bound for writing may not be bound twice.
    const [dW, dGamma] = [grads.linear?.weight, grads.gamma].map((t) =>
      t ?? rt.tensor(`${label}/frozen`, [4])
    );
    rt.dispatch(
      GRADS,
      { WG, HAS_DW: grads.linear !== undefined, HAS_DGAMMA: grads.gamma !== undefined, HAS_BIAS: !!bias },
      [outF, inF],
      [g, w.weight, gamma, bias ?? rt.unused, sums ?? rt.unused, dW, dGamma],
      [Math.ceil(outF / WG)],
      "layerscale_linear_grad",
    );
    release(rt, g);
    if (sums) release(rt, sums);
    if (!grads.linear) release(rt, dW);
    if (!grads.gamma) release(rt, dGamma);
  }
  const du = linearBackward(rt, u, w, dBranch, undefined, label)!;
  release(rt, dBranch);
  return du;
}
