/**
 * A stride-1 convolution's forward, and its input gradient as the conv of dy with flipped, transposed
 * weights and padding KH−1−pad, on the CPU matmul path without a patch matrix: C = W·X over runs of whole
 * rows of the padded grid (kernels/conv_rows.wgsl), W the weights tap by tap (A, read along m), X one copy of
 * the run's input rows and its halo (B, read along k: kernels/matmul_cpu.wgsl's CONV_ROWS), each tap's rows
 * at its offset. The copy writes each input value once, where the patch matrix (conv_product.ts) wrote it
 * KH·KW times; the positions between the output's rows (2·pad of each pitch) are computed and not stored.
 * At the DPT head's shapes this took 1.04–1.45× less CPU time than the direct kernel (conv_cpu.ts), whose
 * scratch is the whole padded input (conv_cpu_route.ts has the figures).
 */
import { nonPowerOfTwo, operandTexture, productOnTextures, textureShapes } from "../../gpu/matmul_cpu.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import { type ConvGemmArgs, type ConvGeometry, ConvMode, type ConvWeights } from "./conv2d.ts";
import { ROWS } from "../../../kernels/matmul_cpu.gen.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { resizedRows, resizedRowsView } from "./resize_bilinear.ts";
import { packWeights, runGeometry } from "./conv_cpu.ts";
import { paddedGrid } from "./conv_weight_grad_rows.ts";
import { recordInputRows } from "./conv_input_rows.ts";

/**
 * A run's input rows hold at most this many floats (3 MiB), so the scratch stays a fraction of the direct
 * kernel's whole padded input; each run copies its halo (KH − 1 rows and KW − 1 pixels) again.
 */
const RUN_FLOATS = 768 * 1024;

/** The padded grid of the conv that runs (`runGeometry`), and the output rows a run takes (0: none fit). */
function runRows(rt: Runtime, r: ConvGeometry) {
  const side = rt.ctx.limits.maxTextureDimension2D;
  const grid = paddedGrid(r);
  const byFloats = Math.floor((RUN_FLOATS / (4 * grid.tapTexels) - grid.halo) / grid.pitch);
  const bySide = Math.floor((side - 1 - grid.halo) / grid.pitch);
  return { ...grid, rows: Math.max(0, Math.min(byFloats, bySide, r.oh)) };
}

/**
 * Whether this path takes the conv: a forward or input gradient, stride 1, padding below the kernel size,
 * an input gradient's dx in [B, Cin, H, W] (not tokens), and at least one output row a run.
 */
export function rowsProductApplies(rt: Runtime, mode: ConvMode, g: ConvGeometry, tokens: boolean): boolean {
  if (mode === ConvMode.WeightGrad || g.stride !== 1 || g.pad > g.kh - 1 || g.pad > g.kw - 1) return false;
  if (mode === ConvMode.InputGrad && tokens) return false;
  const r = runGeometry(mode, g);
  const weights = textureShapes({ m: r.cout, n: 1, k: r.kh * r.kw * 4 * Math.ceil(r.cin / 4) }, {
    aMPacked: true,
    bKPacked: true,
  }).a;
  const side = rt.ctx.limits.maxTextureDimension2D;
  return runRows(rt, r).rows > 0 && weights.every((d) => d <= side);
}

/**
 * Whether a forward's product can also run a 1×1 conv to one channel in its epilogue (`convRowsProductCpu`'s
 * `pointwise`): this path takes it, and its output channels fit one block of the product's rows.
 */
export function rowsPointwiseApplies(rt: Runtime, g: ConvGeometry): boolean {
  return g.cout <= ROWS && rowsProductApplies(rt, ConvMode.Forward, g, false);
}

/**
 * With `pointwise` (a forward without res or accumulate, `rowsPointwiseApplies`): `args.out` is [B, 1, OH,
 * OW], the 1×1 conv of the conv's output after its epilogue, which is not stored.
 */
export function convRowsProductCpu(
  rt: Runtime,
  args: ConvGemmArgs,
  pointwise?: ConvWeights,
  /** The conv's input is x resized to its h×w (`args.b` unused): each run's rows are the resize's. */
  resized?: { x: Tensor },
): void {
  const inputGrad = args.mode === ConvMode.InputGrad;
  const r = runGeometry(args.mode, args.geometry);
  const label = args.label ?? "conv";
  const { tapTexels, pitch, halo, rows } = runRows(rt, r);
  const k = r.kh * r.kw * 4 * tapTexels;
  const layout = { aMPacked: true, bKPacked: true };
  const weights = operandTexture(rt, textureShapes({ m: r.cout, n: 1, k }, layout).a);
  const coutVec4 = Math.ceil(r.cout / 4);
  packWeights(rt, r, args.a, weights, { coutVec4, flip: inputGrad, tapMajor: true }, `${label}/pack`);
  // The rows are exactly the channels' texels wide (input_rows writes every texel of a row): a power of two
  // there, as at every conv of the DPT heads, makes this pipeline's one texture-size variant.
  const inputSize: [number, number] = [Math.max(3, tapTexels), nonPowerOfTwo(rows * pitch + halo)];
  const input = operandTexture(rt, inputSize);
  // dy is always [B, Cout, OH, OW]; tokens and ReLU describe the forward's input.
  const constants = {
    RELU_IN: !inputGrad && (args.reluIn ?? false),
    TOKENS: !inputGrad && (args.tokens ?? false),
  };
  const plane = r.oh * r.ow;
  for (let b = 0; b < r.batch; b++) {
    const source = resized && resizedRowsView(rt, resized.x, b);
    for (let y0 = 0; y0 < r.oh; y0 += rows) {
      const count = Math.min(rows, r.oh - y0) * pitch;
      if (source) {
        const run = { pad: r.pad, pitch, q0: y0 * pitch, height: inputSize[1] };
        resizedRows(rt, resized!.x, source, [r.h, r.w], input, run, `${label}/resized-rows`);
      } else {
        const run = { b, q0: y0 * pitch, count };
        recordInputRows(rt, args.b, r, pitch, run, input, inputSize[1], constants, label);
      }
      productOnTextures(
        rt,
        {
          m: r.cout,
          n: count,
          k,
          c: args.out,
          ldc: plane,
          offC: (pointwise ? b : b * r.cout) * plane + y0 * r.ow,
          accumulate: args.accumulate ?? false,
          bias: args.bias,
          reluOut: args.reluOut,
          res: args.res,
          maskByRes: inputGrad,
          convRows: { tapTexels, kw: r.kw, pitch, ow: r.ow },
          pointwise,
          layout,
          label,
        },
        weights,
        input,
      );
    }
    if (source) rt.pool.free(source.view);
  }
  // Freed while recorded: the pool reuses or destroys them safely (core/gpu/runtime.ts).
  rt.pool.free(weights);
  rt.pool.free(input);
}
