/**
 * AdamW on the GPU (kernels/adamw.wgsl), stepped one parameter at a time: the trainer calls `update` the
 * moment a parameter's gradient is complete and frees the gradient right after, so a whole-model gradient
 * buffer never exists. A parameter gets its moments (`adam/<key>.m`, `adam/<key>.v`) on its first update;
 * one that never receives a gradient (frozen, or unused like refinenet4.resConfUnit1) never gets state.
 *
 * Each parameter counts its own steps, as torch.optim.AdamW does, so bias correction stays right for
 * parameters that start or stop receiving gradients mid-run.
 */
import { byQuads, grid1d } from "../gpu/elementwise.ts";
import type { KernelSpec } from "../gpu/kernels.ts";
import { f32, type Param } from "../gpu/params.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { texelShift, texelView, texelViewsApply } from "../gpu/texel_view.ts";
import { TrompeError } from "../errors.ts";

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** metric_depth/train.py: AdamW(betas=(0.9, 0.999), weight_decay=0.01), torch's default eps. */
export const OFFICIAL_ADAMW: Readonly<AdamWOptions> = {
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0.01,
};

const KERNEL: KernelSpec = {
  file: "adamw.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "storage", "storage", "storage"],
};

/** main_texels: the gradient, the parameter and its moments also read through texel views. */
const TEXELS_KERNEL: KernelSpec = {
  file: "adamw.wgsl",
  entry: "main_texels",
  bindings: ["uniform", "texture", "storage", "storage", "storage", "texture", "texture", "texture"],
};

export interface AdamWSlot {
  m: Tensor;
  v: Tensor;
  /** Steps taken by this parameter. */
  step: number;
}

/** The scalars of step `step` (1-based), in float64: what the kernel receives rounded to f32. */
export function adamwScalars(o: AdamWOptions, lr: number, step: number) {
  return {
    decay: lr * o.weightDecay,
    lerp: 1 - o.beta1,
    beta2: o.beta2,
    oneMinusBeta2: 1 - o.beta2,
    stepSize: lr / (1 - o.beta1 ** step),
    bc2Sqrt: Math.sqrt(1 - o.beta2 ** step),
    eps: o.eps,
  };
}

export class AdamW {
  readonly slots = new Map<string, AdamWSlot>();

  constructor(readonly rt: Runtime, readonly options: AdamWOptions = OFFICIAL_ADAMW) {}

  /** Records one step of parameter `key` (updated in place) with `grad`, which is only read. */
  update(key: string, param: Tensor, grad: Tensor, lr: number): void {
    if (param.size !== grad.size) {
      throw new TrompeError(
        "shape-mismatch",
        `AdamW ${key}: parameter [${param.shape}], gradient [${grad.shape}]`,
      );
    }
    const slot = this.slot(key, param);
    slot.step += 1;
    const s = adamwScalars(this.options, lr, slot.step);
    const scalars: Param[] = [
      param.size,
      f32(s.decay),
      f32(s.lerp),
      f32(s.beta2),
      f32(s.oneMinusBeta2),
      f32(s.stepSize),
      f32(s.bc2Sqrt),
      f32(s.eps),
    ];
    const rt = this.rt;
    if (texelViewsApply(rt, param.size)) {
      // On a CPU adapter every operand is read from a texel view (core/gpu/texel_view.ts), taken before the
      // kernel writes the parameter and moments.
      const shift = texelShift(rt, param.size);
      const [g, p, m, v] = [grad, param, slot.m, slot.v].map((t) => texelView(rt, t, shift));
      const bindings = [g, param, slot.m, slot.v, p, m, v];
      rt.dispatch(TEXELS_KERNEL, {}, [...scalars, shift], bindings, grid1d(param.size / 4), "adamw");
      for (const view of [g, p, m, v]) rt.pool.free(view);
      return;
    }
    const { kernel, grid } = byQuads(KERNEL, param.size);
    rt.dispatch(kernel, {}, [...scalars, 0], [grad, param, slot.m, slot.v], grid, "adamw");
  }

  /** The parameter's moments, created zeroed (WebGPU zero-initialises new buffers) on first use. */
  slot(key: string, param: Tensor): AdamWSlot {
    let slot = this.slots.get(key);
    if (!slot) {
      slot = {
        m: this.rt.tensor(`adam/${key}.m`, param.shape),
        v: this.rt.tensor(`adam/${key}.v`, param.shape),
        step: 0,
      };
      this.slots.set(key, slot);
    }
    return slot;
  }

  free(): void {
    for (const slot of this.slots.values()) this.rt.free(slot.m, slot.v);
    this.slots.clear();
  }
}
