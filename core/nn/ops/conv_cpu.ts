/**
 * The stride-1 Conv2d forward for CPU adapters (lavapipe/llvmpipe): kernels/conv_cpu.wgsl on operands packed
 * by kernels/conv_cpu_pack.wgsl into scratch buffers ("scratch/conv-pack", freed once the conv is recorded).
 * The implicit-GEMM kernel (conv.wgsl) gathers every operand element through index arithmetic and stages
 * tiles in workgroup memory behind barriers — right for a GPU, slow where a workgroup is one CPU thread; the
 * DPT head's full-resolution 3×3 convs ran at ~0.3 GFLOP/s there. Packing costs one pass over the input,
 * against the conv's 2·KH·KW·Cout FLOPs per input element.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { ConvGemmArgs, ConvGeometry } from "./conv2d.ts";
import { release } from "./release.ts";
import { COUTS, KERNEL_WIDTHS, PIXELS } from "../../../kernels/conv_cpu.gen.ts";

const WG_X = 8; // lavapipe's SIMD width: one workgroup is one thread's 8 lanes
const PACK_WG_X = 64; // conv_cpu_pack.wgsl's @workgroup_size

const conv = (kw: number): KernelSpec => ({
  file: "conv_cpu.wgsl",
  entry: `main_k${kw}`,
  bindings: ["uniform", "read", "read", "read", "read", "storage"],
});
const PACK_INPUT: KernelSpec = {
  file: "conv_cpu_pack.wgsl",
  entry: "pack_input",
  bindings: ["uniform", "read", "storage"],
};
const PACK_WEIGHTS: KernelSpec = { ...PACK_INPUT, entry: "pack_weights" };

/** The packed layout of one conv. */
function layout(g: ConvGeometry) {
  const segs = Math.ceil(g.ow / PIXELS);
  return {
    segs,
    groups: Math.ceil(g.cout / COUTS),
    hp: g.h + 2 * g.pad,
    // Wide enough for the last segment's window: segs·PIXELS outputs need KW − 1 more inputs.
    rowVec4: Math.ceil((segs * PIXELS + g.kw - 1) / 4),
    coutVec4: Math.ceil(g.cout / COUTS) * (COUTS / 4),
  };
}

/** Whether this forward conv can take the CPU kernel: stride 1, a generated kernel width, packs that fit. */
export function cpuConvApplies(rt: Runtime, g: ConvGeometry): boolean {
  if (g.stride !== 1 || g.kh !== g.kw || !(KERNEL_WIDTHS as readonly number[]).includes(g.kw)) return false;
  const l = layout(g);
  const { maxStorageBufferBindingSize: maxBinding, maxComputeWorkgroupsPerDimension: maxGroups } =
    rt.ctx.limits;
  return g.batch * g.cin * l.hp * l.rowVec4 * 16 <= maxBinding &&
    Math.max(
        l.hp,
        g.batch * g.cin,
        g.cin * g.kh * g.kw,
        Math.ceil(g.oh * l.segs / WG_X),
        g.batch * l.groups,
      ) <=
      maxGroups;
}

export function convForwardCpu(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const l = layout(g);
  const label = args.label ?? "conv";
  const packParams = [g.batch, g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.pad, l.hp, l.rowVec4, l.coutVec4];
  const x = rt.tensor("scratch/conv-pack/x", [g.batch, g.cin, l.hp, l.rowVec4 * 4]);
  rt.dispatch(
    PACK_INPUT,
    { TOKENS: args.tokens ?? false, RELU_IN: args.reluIn ?? false },
    packParams,
    [args.b, x],
    [Math.ceil(l.rowVec4 / PACK_WG_X), l.hp, g.batch * g.cin],
    `${label}/pack`,
  );
  const w = rt.tensor("scratch/conv-pack/w", [g.cin * g.kh * g.kw, l.coutVec4 * 4]);
  rt.dispatch(
    PACK_WEIGHTS,
    {},
    packParams,
    [args.a, w],
    [Math.ceil(l.coutVec4 / PACK_WG_X), g.cin * g.kh * g.kw, 1],
    `${label}/pack`,
  );
  rt.dispatch(
    conv(g.kw),
    {
      WG_X,
      HAS_BIAS: args.bias !== undefined,
      RELU_OUT: args.reluOut ?? false,
      ADD_RES: args.res !== undefined,
      ACCUMULATE: args.accumulate ?? false,
    },
    [g.cin, g.cout, g.oh, g.ow, g.kh, l.hp, l.rowVec4, l.coutVec4, l.segs, l.groups],
    [x, w, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
    [Math.ceil(g.oh * l.segs / WG_X), 1, g.batch * l.groups],
    label,
  );
  release(rt, x, w);
}
