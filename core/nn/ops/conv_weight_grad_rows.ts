/**
 * A stride-1 convolution's weight gradient on the CPU matmul path without a patch matrix:
 * dw[co, ci, ky, kx] (+)= Σ_b Σ_q dy[b, co, q] · x[b, ci, q + (ky, kx) − pad]. With the pixels numbered on
 * the padded grid (kernels/conv_rows.wgsl), the input under tap (ky, kx) of every output pixel is the same
 * rows of the input's padded pixels shifted by ky·pitch + kx, so the product's B is one copy of the input,
 * channels along the row, and the kernel (kernels/matmul_cpu.wgsl, TAP_ROWS) reads each tap's rows at its
 * offset: the copy writes each input value once, where the patch matrix (conv_product.ts) wrote it KH·KW
 * times with a bounds check per value — at the DPT head's output_conv2.0 (32 → 32 at 518²), 1.17 of the
 * weight gradient's 1.9 CPU-seconds on lavapipe.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { nonPowerOfTwo, operandTexture, productOnTextures } from "../../gpu/matmul_cpu.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { ConvGemmArgs, ConvGeometry } from "./conv2d.ts";
import { recordInputRows, rowsParams } from "./conv_input_rows.ts";

const ROWS_WG = 64; // kernels/conv_rows.wgsl's @workgroup_size
const GRAD_ROWS: KernelSpec = {
  file: "conv_rows.wgsl",
  entry: "grad_rows",
  bindings: ["uniform", "read", "storage-texture"],
};

/**
 * The two operand textures of one run hold at most this many floats together (3 MiB). Every run copies
 * its halo — (KH − 1)·pitch + KW − 1 rows past its own — again: at output_conv2.0 (32 → 32 at 518², a
 * 1042-row halo) a quarter of this made runs of 2548 positions, and the input copy and the product took
 * 172 and 438 CPU ms against 105 and 340 with it. The ViT-S step's measured peak stayed 499.81 MiB.
 */
const RUN_FLOATS = 768 * 1024;

/**
 * The padded grid of a stride-1 conv (kernels/conv_rows.wgsl): texels of channels a pixel, the padded row
 * length, the positions past a run's own that its taps reach (the halo), and the output positions in all.
 */
export function paddedGrid(g: ConvGeometry) {
  const pitch = g.w + 2 * g.pad;
  return {
    tapTexels: Math.ceil(g.cin / 4),
    pitch,
    halo: (g.kh - 1) * pitch + g.kw - 1,
    positions: g.oh * pitch,
  };
}

/** The padded grid, and the positions a run takes (a multiple of 4; 0 where none fit the budget and side). */
function rowsGeometry(rt: Runtime, g: ConvGeometry) {
  const side = rt.ctx.limits.maxTextureDimension2D;
  const { tapTexels, pitch, halo, positions } = paddedGrid(g);
  const byFloats = Math.floor((RUN_FLOATS - halo * 4 * tapTexels) / (4 * tapTexels + g.cout));
  const bySide = Math.min(side - halo - 4, 4 * (side - 2));
  const run = 4 * Math.floor(Math.min(byFloats, bySide, positions + 3) / 4);
  return { tapTexels, pitch, halo, positions, run: run >= 4 ? run : 0 };
}

/** Whether this path takes the weight gradient: stride 1, and a run of at least one texel fits. */
export function weightGradRowsApplies(rt: Runtime, g: ConvGeometry): boolean {
  return g.stride === 1 && g.cout < rt.ctx.limits.maxTextureDimension2D && rowsGeometry(rt, g).run > 0;
}

/**
 * dw (+)= the weight gradient, one product per batch item and run of padded output positions, each
 * run's dy and input rows copied into the operand textures first (dispatches in a pass are ordered, so a
 * copy never overwrites what the previous product still reads).
 */
export function convWeightGradRowsCpu(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const label = args.label ?? "conv.dw";
  const { tapTexels, pitch, halo, positions, run } = rowsGeometry(rt, g);
  const gradSize: [number, number] = [nonPowerOfTwo(run / 4), nonPowerOfTwo(g.cout)];
  const inputSize: [number, number] = [nonPowerOfTwo(tapTexels), nonPowerOfTwo(run + halo)];
  const texA = operandTexture(rt, gradSize);
  const texB = operandTexture(rt, inputSize);
  // kernels/conv_rows.wgsl: a texel an invocation for dy
  const gradGrid: [number, number] = [Math.ceil(gradSize[0] / ROWS_WG), gradSize[1]];
  const constants = { RELU_IN: args.reluIn ?? false, TOKENS: args.tokens ?? false };
  const tapRows = { tapTexels, kh: g.kh, kw: g.kw, pitch, cin: g.cin };
  let first = true;
  for (let b = 0; b < g.batch; b++) {
    for (let q0 = 0; q0 < positions; q0 += run) {
      const count = Math.min(run, positions - q0);
      const slice = { b, q0, count };
      rt.dispatch(GRAD_ROWS, {}, rowsParams(g, pitch, slice), [args.a, texA], gradGrid, `${label}/dy-rows`);
      recordInputRows(rt, args.b, g, pitch, slice, texB, inputSize[1], constants, label);
      productOnTextures(
        rt,
        {
          m: g.cout,
          n: g.kh * g.kw * 4 * tapTexels,
          k: count,
          c: args.out,
          ldc: g.cin * g.kh * g.kw,
          offC: 0,
          accumulate: first ? (args.accumulate ?? false) : true,
          tapRows,
          label,
        },
        texA,
        texB,
      );
      first = false;
    }
  }
  rt.pool.free(texA);
  rt.pool.free(texB);
}
