/**
 * ConvTranspose2d (PyTorch's [in, out, kH, kW] weights, no output padding): the DPT head's ×4 and ×2
 * upsamplings. A transposed convolution is the input gradient of the convolution that maps its output back
 * to its input, so it runs the conv kernel's three modes in another order:
 *   forward = InputGrad of that conv, input gradient = its Forward, weight gradient = its WeightGrad
 * with the conv's x being our output and its y our input. With kernel = stride (the head's case) every output
 * pixel has exactly one tap, and the kernel's phase split makes that a dense GEMM per phase.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";
import { convBiasGrad, convGemm, type ConvGeometry, ConvMode } from "./conv2d.ts";

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

export class ConvTranspose2d {
  /** weight [in, out, k, k]; bias [out] or none. */
  constructor(
    readonly name: string,
    readonly weight: Tensor,
    readonly bias: Tensor | undefined,
    readonly stride: number,
    readonly pad = 0,
  ) {
    if (weight.shape.length !== 4) {
      throw new TrompeError("shape-mismatch", `${name}: weight must be 4-D, got [${weight.shape}]`);
    }
  }

  /** The convolution this one transposes, for an input [batch, in, h, w]. */
  geometry(batch: number, h: number, w: number): ConvGeometry {
    const [cin, cout, kh, kw] = this.weight.shape;
    const s = this.stride;
    return {
      batch,
      cin: cout,
      h: (h - 1) * s - 2 * this.pad + kh,
      w: (w - 1) * s - 2 * this.pad + kw,
      cout: cin,
      kh,
      kw,
      stride: s,
      pad: this.pad,
      oh: h,
      ow: w,
    };
  }

  /** y [B, out, (h−1)·s − 2·pad + k, …], pool label `act/<name>`. */
  forward(rt: Runtime, x: Tensor): { y: Tensor; saved: ConvTransposeSaved } {
    const [batch, cin, h, w] = x.shape;
    if (x.shape.length !== 4 || cin !== this.weight.shape[0]) {
      throw new TrompeError(
        "shape-mismatch",
        `${this.name}: input [${x.shape}] for weight [${this.weight.shape}]`,
      );
    }
    const g = this.geometry(batch, h, w);
    const y = rt.tensor(`act/${this.name}`, [batch, g.cin, g.h, g.w]);
    convGemm(rt, {
      mode: ConvMode.InputGrad,
      geometry: g,
      a: this.weight,
      b: x,
      out: y,
      bias: this.bias,
      label: this.name,
    });
    return { y, saved: { x, geometry: g } };
  }

  backward(
    rt: Runtime,
    saved: ConvTransposeSaved,
    dy: Tensor,
    targets: ConvTransposeGradTargets,
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
        label: `${this.name}.dw`,
      });
    }
    if (targets.bias && this.bias) {
      // The bias gradient sums dy, which is the conv's x: count it with x's channels and size.
      const asOutput = { ...g, cout: g.cin, oh: g.h, ow: g.w };
      convBiasGrad(rt, asOutput, dy, targets.bias, targets.accumulate, `${this.name}.db`);
    }
    if (!targets.input) return undefined;
    const dx = rt.tensor(`grads/act/${this.name}/dx`, saved.x.shape);
    convGemm(rt, {
      mode: ConvMode.Forward,
      geometry: g,
      a: this.weight,
      b: dy,
      out: dx,
      label: `${this.name}.dx`,
    });
    return dx;
  }
}
