/**
 * DINOv2's LayerScale fused with the residual it feeds: out = x + γ ⊙ branch, γ per channel. The residual
 * stream is written to a new tensor (not updated in place) so that a block's input survives for its backward.
 */
import { mul, mulAdd } from "../../gpu/elementwise.ts";
import { sumRows } from "../../gpu/reduce.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

function check(x: Tensor, branch: Tensor, gamma: Tensor): number {
  const channels = gamma.size;
  if (x.size !== branch.size || x.size % channels !== 0) {
    throw new TrompeError(
      "shape-mismatch",
      `layerscale: ${x.name} [${x.shape}] + ${gamma.name} [${gamma.shape}] ⊙ ${branch.name} [${branch.shape}]`,
    );
  }
  return channels;
}

/** out = x + γ ⊙ branch (LayerScale with the residual it feeds), into a new tensor `label`. */
export function layerScaleForward(
  rt: Runtime,
  x: Tensor,
  branch: Tensor,
  gamma: Tensor,
  label: string,
): Tensor {
  const channels = check(x, branch, gamma);
  const out = rt.tensor(label, x.shape);
  mulAdd(rt, branch, gamma, x, out, channels, "layerscale");
  return out;
}

/**
 * Backward of `layerScaleForward` for the branch and γ (x's gradient is dOut itself): dγ += Σ_rows
 * dOut ⊙ branch into `dGamma` (absent when frozen); returns dBranch = dOut ⊙ γ as a new tensor `label`.
 */
export function layerScaleBackward(
  rt: Runtime,
  branch: Tensor,
  gamma: Tensor,
  dOut: Tensor,
  dGamma: Tensor | undefined,
  label: string,
): Tensor {
  const channels = check(dOut, branch, gamma);
  const dBranch = rt.tensor(label, branch.shape);
  if (dGamma) {
    // dBranch's buffer holds dOut ⊙ branch until the sum has read it.
    mul(rt, dOut, branch, dBranch, dOut.size, "layerscale_backward");
    sumRows(rt, dBranch, dOut.size / channels, channels, dGamma, {
      accumulate: true,
      label: "layerscale_dgamma",
    });
  }
  mul(rt, dOut, gamma, dBranch, channels, "layerscale_backward");
  return dBranch;
}
