/**
 * Stride-1 Conv2d for CPU adapters (lavapipe/llvmpipe) on a direct kernel: the forward, and the input
 * gradient as the same conv of dy with transposed, flipped weights and padding KH−1−pad.
 * kernels/conv_cpu.wgsl runs on operands packed by kernels/conv_cpu_pack.wgsl into scratch textures
 * ("scratch/conv-pack", freed once the conv is recorded), which it reads as read-only storage textures. The
 * other convolutions, and these where they have ≥ 32 output channels, run as products on the CPU matmul
 * path (conv_product.ts, conv_rows_product.ts); conv_cpu_route.ts chooses, and says why.
 * The implicit-GEMM kernel (conv.wgsl) gathers every operand element through index arithmetic and stages
 * tiles in workgroup memory behind barriers — right for a GPU, slow where a workgroup is one CPU thread; the
 * DPT head's full-resolution 3×3 convs ran at under 1 GFLOP/s there. Packing costs one pass over the input,
 * against the conv's 2·KH·KW·Cout FLOPs per input element.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { nonPowerOfTwo } from "../../gpu/matmul_cpu.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { type ConvGemmArgs, type ConvGeometry, ConvMode } from "./conv2d.ts";
import { COUTS, KERNEL_WIDTHS, PIXELS } from "../../../kernels/conv_cpu.gen.ts";

const WG_X = 8; // lavapipe's SIMD width: one workgroup is one thread's 8 lanes
const PACK_WG_X = 64; // conv_cpu_pack.wgsl's @workgroup_size

const conv = (kw: number): KernelSpec => ({
  file: "conv_cpu.wgsl",
  entry: `main_k${kw}`,
  bindings: ["uniform", "texture", "texture", "read", "read", "storage"],
});
const PACK_INPUT: KernelSpec = {
  file: "conv_cpu_pack.wgsl",
  entry: "pack_input",
  bindings: ["uniform", "read", "storage-texture"],
};
const PACK_WEIGHTS: KernelSpec = { ...PACK_INPUT, entry: "pack_weights" };

// Option bits of conv_cpu_pack.wgsl (a uniform there: one pipeline per pack kernel serves every conv).
const [PACK_TOKENS, PACK_RELU_IN, PACK_FLIP, PACK_TAP_MAJOR] = [1, 2, 4, 8];

function bits(...options: [boolean, number][]): number {
  return options.reduce((sum, [on, bit]) => sum | (on ? bit : 0), 0);
}

/** The conv that runs: the forward's own, or for an input gradient the conv of dy that gives dx. */
export function runGeometry(mode: ConvMode, g: ConvGeometry): ConvGeometry {
  if (mode === ConvMode.Forward) return g;
  const pad = g.kh - 1 - g.pad;
  return { ...g, cin: g.cout, h: g.oh, w: g.ow, cout: g.cin, oh: g.h, ow: g.w, pad };
}

/**
 * The packed layout of one conv, in texels: the input's B·Cin planes of hp rows stacked `ppc` to a column of
 * planes (kernels/conv_cpu_pack.wgsl), and the weights' taps as rows.
 */
function layout(g: ConvGeometry, maxSide: number) {
  const segs = Math.ceil(g.ow / PIXELS);
  const hp = g.h + 2 * g.pad;
  // Wide enough for the last segment's window: segs·PIXELS outputs need KW − 1 more inputs.
  const rowVec4 = Math.ceil((segs * PIXELS + g.kw - 1) / 4);
  const planes = g.batch * g.cin;
  // As few columns as the side allows, the planes spread evenly over them (no column left mostly empty).
  const columns = Math.ceil(planes / Math.max(1, Math.floor(maxSide / hp)));
  const ppc = Math.ceil(planes / columns);
  const coutVec4 = Math.ceil(g.cout / COUTS) * (COUTS / 4);
  const side = nonPowerOfTwo;
  return {
    segs,
    groups: Math.ceil(g.cout / COUTS),
    hp,
    rowVec4,
    coutVec4,
    ppc,
    input: [side(rowVec4 * Math.ceil(planes / ppc)), side(hp * ppc)] as [number, number],
    weights: [side(coutVec4), side(g.cin * g.kh * g.kw)] as [number, number],
  };
}

/**
 * Whether the CPU kernel can run this product: a forward or input gradient, stride 1, a square kernel of a
 * generated width, padding below the kernel size, packed copies that fit a binding and grids that fit.
 */
export function cpuConvApplies(rt: Runtime, mode: ConvMode, geometry: ConvGeometry): boolean {
  const g = geometry;
  if (mode === ConvMode.WeightGrad || g.stride !== 1 || g.kh !== g.kw || g.pad > g.kh - 1) return false;
  if (!(KERNEL_WIDTHS as readonly number[]).includes(g.kw)) return false;
  const r = runGeometry(mode, g);
  const { maxTextureDimension2D: maxSide, maxComputeWorkgroupsPerDimension: maxGroups } = rt.ctx.limits;
  const l = layout(r, maxSide);
  const grids = [
    Math.ceil((l.hp * l.rowVec4) / PACK_WG_X),
    r.batch * r.cin,
    r.cin * r.kh * r.kw,
    Math.ceil(r.oh * l.segs / WG_X),
    r.batch * l.groups,
  ];
  const sides = [...l.input, ...l.weights];
  return sides.every((d) => d <= maxSide) && Math.max(...grids) <= maxGroups;
}

/**
 * Records the copy of the weights of conv `g` (a `runGeometry`) into `texture`: rows of `coutVec4` texels
 * of output channels, a row a tap (kernels/conv_cpu_pack.wgsl's pack_weights), flipped and transposed for
 * an input gradient (`flip`), the rows tap by tap with channels padded to whole texels with `tapMajor`.
 */
export function packWeights(
  rt: Runtime,
  g: ConvGeometry,
  weights: Tensor,
  texture: PoolBuffer,
  o: { coutVec4: number; flip: boolean; tapMajor: boolean },
  label: string,
): void {
  const rows = o.tapMajor ? g.kh * g.kw * 4 * Math.ceil(g.cin / 4) : g.cin * g.kh * g.kw;
  const shape = [g.batch, g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.pad, 0, 0, o.coutVec4, 0];
  rt.dispatch(
    PACK_WEIGHTS,
    {},
    [...shape, bits([o.flip, PACK_FLIP], [o.tapMajor, PACK_TAP_MAJOR])],
    [weights, texture],
    [Math.ceil(o.coutVec4 / PACK_WG_X), rows, 1],
    label,
  );
}

export function convCpu(rt: Runtime, args: ConvGemmArgs): void {
  const inputGrad = args.mode === ConvMode.InputGrad;
  const g = runGeometry(args.mode, args.geometry);
  const l = layout(g, rt.ctx.limits.maxTextureDimension2D);
  const label = args.label ?? "conv";
  const tokensIn = !inputGrad && (args.tokens ?? false), reluIn = !inputGrad && (args.reluIn ?? false);
  const packShape = [g.batch, g.cin, g.h, g.w, g.cout, g.kh, g.kw, g.pad, l.hp, l.rowVec4, l.coutVec4, l.ppc];
  const usage = GPUTextureUsage.STORAGE_BINDING;
  const x = rt.pool.allocTexture("scratch/conv-pack", ...l.input, usage);
  // dy is always [B, Cout, OH, OW]; tokens and ReLU describe the forward's input.
  rt.dispatch(
    PACK_INPUT,
    {},
    [...packShape, bits([tokensIn, PACK_TOKENS], [reluIn, PACK_RELU_IN])],
    [args.b, x],
    [Math.ceil((l.hp * l.rowVec4) / PACK_WG_X), 1, g.batch * g.cin],
    `${label}/pack`,
  );
  const w = rt.pool.allocTexture("scratch/conv-pack", ...l.weights, usage);
  packWeights(rt, g, args.a, w, { coutVec4: l.coutVec4, flip: inputGrad, tapMajor: false }, `${label}/pack`);
  rt.dispatch(
    conv(g.kw),
    {
      WG_X,
      HAS_BIAS: args.bias !== undefined,
      RELU_OUT: args.reluOut ?? false,
      ADD_RES: !inputGrad && args.res !== undefined,
      MASK_RES: inputGrad && args.res !== undefined,
      TOKENS_OUT: inputGrad && (args.tokens ?? false),
      ACCUMULATE: args.accumulate ?? false,
    },
    [g.cin, g.cout, g.oh, g.ow, g.kh, l.hp, l.rowVec4, l.coutVec4, l.segs, l.groups, l.ppc],
    [x, w, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
    [Math.ceil(g.oh * l.segs / WG_X), 1, g.batch * l.groups],
    label,
  );
  // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
  rt.pool.free(x);
  rt.pool.free(w);
}
