/**
 * DINOv2's patch embedding: a 14×14 stride-14 Conv2d from the image [B, 3, H, W] to patch tokens [B, N, C]
 * (PyTorch's flatten(2).transpose(1, 2)), as im2col (kernels/patch_embed.wgsl) plus one matmul. The
 * backward gives the weight and bias gradients; the image is data and gets none.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { linearBackward, linearForward, type LinearWeights } from "./linear.ts";

const IM2COL: KernelSpec = {
  file: "patch_embed.wgsl",
  entry: "im2col",
  bindings: ["uniform", "read", "storage"],
};

/** Patch grid of an image [B, 3, H, W] for a P×P patch embedding; H and W must be multiples of P. */
export function patchGrid(image: Tensor, patch: number): { batch: number; h: number; w: number } {
  const [batch, channels, height, width] = image.shape;
  if (image.shape.length !== 4 || channels !== 3 || height % patch !== 0 || width % patch !== 0) {
    throw new TrompeError(
      "shape-mismatch",
      `the encoder takes [B, 3, H, W] with H and W multiples of ${patch}, got [${image.shape}]`,
      { subject: image.name },
    );
  }
  return { batch, h: height / patch, w: width / patch };
}

/** The conv weight [C, 3, P, P] seen as the linear layer [C, 3·P·P] it is on im2col columns. */
function asLinear(w: LinearWeights): LinearWeights {
  const [outF, ...rest] = w.weight.shape;
  return { weight: w.weight.view([outF, rest.reduce((a, b) => a * b, 1)]), bias: w.bias };
}

/** Patch tokens [B, N, C] of `image`; `saved.cols` [B, N, 3·P·P] is what the backward needs. */
export function patchEmbedForward(
  rt: Runtime,
  image: Tensor,
  w: LinearWeights,
  label: string,
): { y: Tensor; saved: { cols: Tensor } } {
  const patch = w.weight.shape[3];
  const { batch, h, w: pw } = patchGrid(image, patch);
  const [, channels, height, width] = image.shape;
  const cols = rt.tensor(`${label}/cols`, [batch, h * pw, channels * patch * patch]);
  rt.dispatch(
    IM2COL,
    {},
    [batch, channels, height, width, patch],
    [image, cols],
    grid1d(cols.size),
    "im2col",
  );
  return { y: linearForward(rt, cols, asLinear(w), label), saved: { cols } };
}

/** Accumulates the conv weight and bias gradients from dy [B, N, C]. */
export function patchEmbedBackward(
  rt: Runtime,
  saved: { cols: Tensor },
  w: LinearWeights,
  dy: Tensor,
  grads: LinearWeights,
  label: string,
): void {
  linearBackward(rt, saved.cols, asLinear(w), dy, asLinear(grads), label, { needInput: false });
}
