/**
 * Bilinear resize with align_corners=True on the last two axes (the DPT fusion blocks, the upsampling to
 * 14·patches, and `infer_image`'s resize back to the image size), and its adjoint for the backward.
 * The float64 reference is core/nn/resize_ref.ts.
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import { numel, type Tensor } from "../../gpu/tensor.ts";
import { TrompeError } from "../../errors.ts";

const BINDINGS = ["uniform", "read", "storage"] as const;
const FORWARD: KernelSpec = { file: "resize.wgsl", entry: "bilinear", bindings: BINDINGS };
const ADJOINT: KernelSpec = { file: "resize.wgsl", entry: "bilinear_adjoint", bindings: BINDINGS };

export interface ResizeSaved {
  inShape: readonly number[];
}

export class ResizeBilinear {
  constructor(readonly name: string, readonly outH: number, readonly outW: number) {
    if (!(outH >= 1 && outW >= 1)) throw new TrompeError("bad-argument", `${name}: output ${outH}×${outW}`);
  }

  private dispatch(
    rt: Runtime,
    spec: KernelSpec,
    src: Tensor,
    dst: Tensor,
    inShape: readonly number[],
    accumulate: boolean,
    label: string,
  ): void {
    const inH = inShape[inShape.length - 2];
    const inW = inShape[inShape.length - 1];
    const planes = numel(inShape) / (inH * inW);
    const count = spec === FORWARD ? dst.size : numel(inShape);
    rt.dispatch(
      spec,
      { ACCUMULATE: accumulate },
      [planes, inH, inW, this.outH, this.outW],
      [src, dst],
      grid1d(count),
      label,
    );
  }

  /** y [..., outH, outW] from x [..., H, W]; pool label `act/<name>` unless `out` is given. */
  forward(rt: Runtime, x: Tensor, out?: Tensor): { y: Tensor; saved: ResizeSaved } {
    if (x.shape.length < 2) throw new TrompeError("shape-mismatch", `${this.name}: input [${x.shape}]`);
    const shape = [...x.shape.slice(0, -2), this.outH, this.outW];
    const y = out ?? rt.tensor(`act/${this.name}`, shape);
    if (y.size !== numel(shape)) {
      throw new TrompeError("shape-mismatch", `${this.name}: output ${y.name} [${y.shape}]`);
    }
    this.dispatch(rt, FORWARD, x, y, x.shape, false, this.name);
    return { y, saved: { inShape: x.shape } };
  }

  /** dx (+)= adjoint(dy); a new `grads/act/<name>/dx` unless `into` is given. */
  backward(rt: Runtime, saved: ResizeSaved, dy: Tensor, into?: { dx: Tensor; accumulate?: boolean }): Tensor {
    const dx = into?.dx ?? rt.tensor(`grads/act/${this.name}/dx`, saved.inShape);
    if (dx.size !== numel(saved.inShape)) {
      throw new TrompeError("shape-mismatch", `${this.name}: gradient ${dx.name}`);
    }
    this.dispatch(rt, ADJOINT, dy, dx, saved.inShape, into?.accumulate ?? false, `${this.name}.backward`);
    return dx;
  }
}
