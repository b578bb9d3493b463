/**
 * A 1×1 convolution to one output channel on a CPU adapter (kernels/conv_pointwise1_cpu.wgsl): the DPT
 * head's last conv, which the direct kernel and the products ran at a sixteenth or a thirty-second of
 * their width (conv_cpu_route.ts says when it is chosen).
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import { type ConvGemmArgs, type ConvGeometry, ConvMode } from "./conv2d.ts";
import { sumRows } from "../../gpu/reduce.ts";
import { texelShift, texelView, texelViewsApply } from "../../gpu/texel_view.ts";
import { release } from "./release.ts";

const KERNEL: KernelSpec = {
  file: "conv_pointwise1_cpu.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "read", "read", "read", "storage"],
};
const WG = 64; // the kernel's @workgroup_size
const WEIGHT_GRAD: KernelSpec = {
  file: "conv_pointwise1_cpu.wgsl",
  entry: "weight_grad",
  bindings: ["uniform", "texture", "texture", "storage"],
};
/** Partial sums a channel of the weight gradient: one 64-lane workgroup a channel. */
const SPLITS = 64;
/** Floats of x a weight-gradient dispatch's texel view holds at most (4 MiB), so a view adds little to a peak. */
const VIEW_FLOATS = 1 << 20;

/** A forward 1×1 conv to one channel from an image (not tokens) whose planes are whole vec4s. */
export function pointwiseToOneApplies(mode: ConvMode, g: ConvGeometry, tokens: boolean): boolean {
  return mode === ConvMode.Forward && !tokens && g.cout === 1 && g.kh === 1 && g.kw === 1 &&
    g.stride === 1 && g.pad === 0 && (g.h * g.w) % 4 === 0;
}

export function convPointwiseToOne(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const quads = g.h * g.w / 4;
  rt.dispatch(
    KERNEL,
    {
      HAS_BIAS: args.bias !== undefined,
      RELU_IN: args.reluIn ?? false,
      RELU_OUT: args.reluOut ?? false,
      ADD_RES: args.res !== undefined,
      ACCUMULATE: args.accumulate ?? false,
    },
    [g.cin, quads, g.batch, 0, 0, 0, 0],
    [args.b, args.a, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
    grid1d(g.batch * quads, WG),
    args.label ?? "conv",
  );
}

/**
 * The weight gradient of a 1×1 conv to one channel from an image (not tokens, not read through a ReLU) whose
 * planes are whole vec4s, on a CPU adapter. The products ran it as one row of C: the DPT head's
 * output_conv2.2 (32 → 1 at 518²) took ~280 ms of a ViT-S step on lavapipe, its input's packed rows included.
 */
export function pointwiseToOneWeightGradApplies(rt: Runtime, args: ConvGemmArgs): boolean {
  const g = args.geometry;
  return args.mode === ConvMode.WeightGrad && !(args.tokens ?? false) && !(args.reluIn ?? false) &&
    g.cout === 1 && g.kh === 1 && g.kw === 1 && g.stride === 1 && g.pad === 0 && (g.h * g.w) % 4 === 0 &&
    texelViewsApply(rt, g.batch * g.cin * g.h * g.w);
}

/**
 * dw [1, Cin, 1, 1] (+)= Σ_b Σ_p dy[b, 0, p]·x[b, :, p] (`args.a` dy, `args.b` x): partial sums over texel
 * views of a few channels at a time (kernels/conv_pointwise1_cpu.wgsl's weight_grad), then their sum.
 */
export function convPointwiseToOneWeightGrad(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const label = args.label ?? "conv";
  const plane = g.h * g.w;
  const chunk = Math.max(1, Math.floor(VIEW_FLOATS / plane));
  const shift = texelShift(rt, Math.min(chunk, g.cin) * plane);
  const partial = rt.tensor(`tmp/${label}/partial`, [SPLITS, g.cin]);
  for (let b = 0; b < g.batch; b++) {
    const dy = texelView(rt, args.a, shift, { off: b * plane, size: plane });
    for (let c0 = 0; c0 < g.cin; c0 += chunk) {
      const count = Math.min(chunk, g.cin - c0);
      const x = texelView(rt, args.b, shift, { off: (b * g.cin + c0) * plane, size: count * plane });
      const params = [g.cin, plane / 4, g.batch, SPLITS, b, c0, shift];
      rt.dispatch(WEIGHT_GRAD, {}, params, [x, dy, partial], [Math.ceil(SPLITS / WG), count], label);
      rt.pool.free(x);
    }
    rt.pool.free(dy);
  }
  sumRows(rt, partial, SPLITS, g.cin, args.out, { accumulate: args.accumulate, label: `${label}.sum` });
  release(rt, partial);
}
