/**
 * DINOv2's token sequence: x0[b] = [cls; patches[b]] + pos, with pos [1+N, C] the resized position embedding
 * (its row 0 belongs to the class token). Its backward sums over the batch: cls and pos are shared.
 */
import { add } from "../../gpu/elementwise.ts";
import { matmul } from "../../gpu/matmul.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { release } from "./release.ts";

/**
 * dst[dstOffset + i] += Σ_b src[srcOffset + b·srcStride + i] for i < length: the batch sum of a strided
 * range, as a 1×length product with a ones vector (so no kernel is needed for ranges inside tensors).
 */
export function batchSumInto(
  rt: Runtime,
  src: { tensor: Tensor; offset: number; stride: number; batch: number },
  dst: { tensor: Tensor; offset: number },
  length: number,
  label: string,
): void {
  const ones = rt.upload("tmp/ones", [src.batch], new Float32Array(src.batch).fill(1));
  matmul(rt, {
    a: ones,
    b: src.tensor,
    c: dst.tensor,
    m: 1,
    n: length,
    k: src.batch,
    ldb: src.stride,
    offB: src.offset,
    offC: dst.offset,
    accumulate: true,
    label,
  });
  release(rt, ones);
}

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
  const dPos = rt.tensor(`${label}/dpos`, [t, channels]);
  batchSumInto(
    rt,
    { tensor: dx0, offset: 0, stride: t * channels, batch },
    { tensor: dPos, offset: 0 },
    t * channels,
    "tokens_backward",
  );
  if (dCls) {
    batchSumInto(
      rt,
      { tensor: dPos, offset: 0, stride: 0, batch: 1 },
      { tensor: dCls, offset: 0 },
      channels,
      "tokens_backward",
    );
  }
  const dPatches = rt.tensor(`${label}/dpatches`, [batch, t - 1, channels]);
  const rowBytes = channels * 4;
  for (let b = 0; b < batch; b++) {
    rt.copy(dx0, dPatches, (t - 1) * rowBytes, (b * t + 1) * rowBytes, b * (t - 1) * rowBytes);
  }
  return { dPos, dPatches };
}
