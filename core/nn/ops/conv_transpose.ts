/**
 * ConvTranspose2d (PyTorch's [in, out, kH, kW] weights, no output padding), `convTranspose2dForward` and
 * `convTranspose2dBackward`: the DPT head's ×4 and ×2 upsamplings. A transposed convolution is the input gradient of the convolution that maps its output back
 * to its input, so it runs the conv kernel's three modes in another order:
 *   forward = InputGrad of that conv, input gradient = its Forward, weight gradient = its WeightGrad
 * with the conv's x being our output and its y our input. With kernel = stride (the head's case) every output
 * pixel has exactly one tap, and the kernel's phase split makes that a dense GEMM per phase.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import {
  convBiasGrad,
  convGemm,
  type ConvGeometry,
  ConvMode,
  type ConvWeights,
  convWeightShape,
} from "./conv2d.ts";

export interface ConvTransposeOptions {
  stride: number;
  pad?: number;
}

export interface ConvTransposeSaved {
  x: Tensor;
  geometry: ConvGeometry;
}

export interface ConvTransposeGradTargets {
  weight?: Tensor;
  bias?: Tensor;
  input?: boolean;
  accumulate?: boolean;
}

/** y [B, out, (h−1)·s − 2·pad + k, …] from x [B, in, h, w] and weight [in, out, k, k], pool label `act/<name>`. */
export function convTranspose2dForward(
  rt: Runtime,
  x: Tensor,
  w: ConvWeights,
  name: string,
  options: ConvTransposeOptions,
): { y: Tensor; saved: ConvTransposeSaved } {
  const [weightIn, cout, kh, kw] = convWeightShape(w, name);
  const [batch, cin, h, width] = x.shape;
  if (x.shape.length !== 4 || cin !== weightIn) {
    throw new TrompeError("shape-mismatch", `${name}: input [${x.shape}] for weight [${w.weight.shape}]`);
  }
  const s = options.stride;
  const pad = options.pad ?? 0;
  // The convolution this one transposes: its x is our output, its y our input.
  const g: ConvGeometry = {
    batch,
    cin: cout,
    h: (h - 1) * s - 2 * pad + kh,
    w: (width - 1) * s - 2 * pad + kw,
    cout: cin,
    kh,
    kw,
    stride: s,
    pad,
    oh: h,
    ow: width,
  };
  const y = rt.tensor(`act/${name}`, [batch, g.cin, g.h, g.w]);
  convGemm(rt, {
    mode: ConvMode.InputGrad,
    geometry: g,
    a: w.weight,
    b: x,
    out: y,
    bias: w.bias,
    label: name,
  });
  return { y, saved: { x, geometry: g } };
}

/**
 * Backward of `convTranspose2dForward` from dy into `targets` (the bias gradient only when the conv has a
 * bias); returns dx when asked for.
 */
export function convTranspose2dBackward(
  rt: Runtime,
  saved: ConvTransposeSaved,
  w: ConvWeights,
  dy: Tensor,
  targets: ConvTransposeGradTargets,
  name: string,
): Tensor | undefined {
  const g = saved.geometry;
  if (targets.weight) {
    convGemm(rt, {
      mode: ConvMode.WeightGrad,
      geometry: g,
      a: saved.x,
      b: dy,
      out: targets.weight,
      accumulate: targets.accumulate,
      label: `${name}.dw`,
    });
  }
  if (targets.bias && w.bias) {
    // The bias gradient sums dy, which is the conv's x: count it with x's channels and size.
    const asOutput = { ...g, cout: g.cin, oh: g.h, ow: g.w };
    convBiasGrad(rt, asOutput, dy, targets.bias, targets.accumulate, `${name}.db`);
  }
  if (!targets.input) return undefined;
  const dx = rt.tensor(`grads/act/${name}/dx`, saved.x.shape);
  convGemm(rt, {
    mode: ConvMode.Forward,
    geometry: g,
    a: w.weight,
    b: dy,
    out: dx,
    label: `${name}.dx`,
  });
  return dx;
}
