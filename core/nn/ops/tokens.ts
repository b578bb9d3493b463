/**
 * DINOv2's token sequence: x0[b] = [cls; patches[b]] + pos, with pos [1+N, C] the resized position embedding
 * (its row 0 belongs to the class token). Its backward sums over the batch: cls and pos are shared.
 */
import { add } from "../../gpu/elementwise.ts";
import { sumRows } from "../../gpu/reduce.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { release } from "./release.ts";

/** x0 [B, 1+N, C] from patch tokens [B, N, C], the class token [1, 1, C] and pos [1+N, C]. */
export function assembleTokensForward(
  rt: Runtime,
  patches: Tensor,
  cls: Tensor,
  pos: Tensor,
  label: string,
): Tensor {
  const [batch, n, channels] = patches.shape;
  if (cls.size !== channels || pos.size !== (n + 1) * channels) {
    throw new TrompeError(
      "shape-mismatch",
      `tokens: patches [${patches.shape}], cls [${cls.shape}], pos [${pos.shape}]`,
    );
  }
  const rowBytes = channels * 4;
  const joined = rt.tensor(`${label}/joined`, [batch, n + 1, channels]);
  for (let b = 0; b < batch; b++) {
    rt.copy(cls, joined, rowBytes, 0, b * (n + 1) * rowBytes);
    rt.copy(patches, joined, n * rowBytes, b * n * rowBytes, (b * (n + 1) + 1) * rowBytes);
  }
  const x0 = rt.tensor(label, joined.shape);
  add(rt, joined, pos, x0, { period: pos.size, label: "pos_embed_add" });
  release(rt, joined);
  return x0;
}

/**
 * Backward of `assembleTokensForward`: dCls += Σ_b dx0[b, 0] (into `dCls` when it trains), returns
 * dPos [1+N, C] (Σ_b dx0[b]) and dPatches [B, N, C].
 */
export function assembleTokensBackward(
  rt: Runtime,
  dx0: Tensor,
  dCls: Tensor | undefined,
  label: string,
): { dPos: Tensor; dPatches: Tensor } {
  const [batch, t, channels] = dx0.shape;
  // A sum over the batch items, each [T·C]; the class token's gradient is the sum's row 0. (As a 1×T·C
  // product with a ones vector this was too wide for the CPU path's textures and took 0.66 s on lavapipe's
  // GPU-shaped kernels at ViT-S's 518².)
  const dPos = rt.tensor(`${label}/dpos`, [t, channels]);
  sumRows(rt, dx0, batch, t * channels, dPos, { label: "tokens_backward" });
  if (dCls) sumRows(rt, dPos, 1, channels, dCls, { accumulate: true, label: "tokens_backward" });
  const dPatches = rt.tensor(`${label}/dpatches`, [batch, t - 1, channels]);
  const rowBytes = channels * 4;
  for (let b = 0; b < batch; b++) {
    rt.copy(dx0, dPatches, (t - 1) * rowBytes, (b * t + 1) * rowBytes, b * (t - 1) * rowBytes);
  }
  return { dPos, dPatches };
}
