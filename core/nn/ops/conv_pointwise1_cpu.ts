/**
 * A 1×1 convolution to one output channel on a CPU adapter (kernels/conv_pointwise1_cpu.wgsl): the DPT
 * head's last conv, which the direct kernel and the products ran at a sixteenth or a thirty-second of
 * their width (conv_cpu_route.ts says when it is chosen).
 */
import { grid1d } from "../../gpu/elementwise.ts";
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import { type ConvGemmArgs, type ConvGeometry, ConvMode } from "./conv2d.ts";

const KERNEL: KernelSpec = {
  file: "conv_pointwise1_cpu.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "read", "read", "read", "storage"],
};
const WG = 64; // the kernel's @workgroup_size

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
    [g.cin, quads, g.batch],
    [args.b, args.a, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
    grid1d(g.batch * quads, WG),
    args.label ?? "conv",
  );
}
