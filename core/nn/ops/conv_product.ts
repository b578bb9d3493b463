/**
 * Convolutions as products on the CPU matmul path (lavapipe/llvmpipe: core/gpu/matmul_cpu.ts), whose
 * patch operand kernels/conv_im2col.wgsl writes straight into the product's operand texture:
 * - forward (any stride) and stride-1 input gradient: y[b, :, run] = W · col(x)[:, run] for runs of output
 *   pixels, W the weights as [Cout, Cin·KH·KW] (flipped and transposed for an input gradient, which is the
 *   conv of dy with padding KH−1−pad), the bias per row and the conv's epilogue in the product's store;
 * - weight gradient of a strided conv: dw (+)= dy[b][:, run] · col(x)[run, :], summed over batch items and
 *   runs (a stride-1 conv's takes no patch matrix: conv_weight_grad_rows.ts).
 * The tuned product runs at ~3× the direct kernel (conv_cpu.ts) where Cout fills its 32-row blocks; the
 * patch copy costs one texel store per KH·KW·Cin·4 pixels against 2·Cout FLOPs per patch value.
 */
import type { KernelSpec } from "../../gpu/kernels.ts";
import { operandTexture, packOperand, productOnTextures, textureShapes } from "../../gpu/matmul_cpu.ts";
import type { PoolBuffer } from "../../gpu/pool.ts";
import type { Runtime } from "../../gpu/runtime.ts";
import type { Tensor } from "../../gpu/tensor.ts";
import { type ConvGemmArgs, type ConvGeometry, ConvMode } from "./conv2d.ts";
import { runGeometry } from "./conv_cpu.ts";
import { release } from "./release.ts";

const IM2COL_WG = 64; // kernels/conv_im2col.wgsl's @workgroup_size
const BINDINGS = ["uniform", "read", "storage-texture"] as const;
const PATCH_ROWS: KernelSpec = { file: "conv_im2col.wgsl", entry: "main", bindings: BINDINGS };
const PATCH_COLUMNS: KernelSpec = { file: "conv_im2col.wgsl", entry: "patches", bindings: BINDINGS };

/**
 * The patch texture of one forward product holds at most this many floats: the output pixels go in runs
 * that fit it (and the texture side).
 */
const FORWARD_PATCH_FLOATS = 2 * 1024 * 1024;

/**
 * The weight gradient's patch texture holds at most this many floats (768 KiB; and its side the texture
 * limit): one product per batch item and run of output pixels that fits, so its scratch stays a fraction of
 * a small model's step (for the demo's last 3×3 conv, 144 patch values a pixel: runs of 1365 pixels, four to
 * a 70×70 image). 1 Mi floats made that dw 61 ms instead of 77 at batch 4, but its 4 MiB is live at the demo
 * model's peak (9.4 MiB planned), which the memory plan must predict within 5 %.
 */
const WEIGHT_GRAD_PATCH_FLOATS = 192 * 1024;

/** Pixels a run takes at most: `floats` of patches of `taps` values, and a texture side. */
function runLength(rt: Runtime, taps: number, pixels: number, floats: number): number {
  const perRun = Math.min(
    Math.floor(floats / (4 * Math.ceil(taps / 4))),
    4 * (rt.ctx.limits.maxTextureDimension2D - 2),
  );
  const runs = Math.ceil(pixels / Math.max(4, perRun));
  return 4 * Math.ceil(pixels / runs / 4);
}

function fitsTextures(rt: Runtime, rows: number, taps: number): boolean {
  const side = rt.ctx.limits.maxTextureDimension2D;
  return 4 * Math.ceil(taps / 4) + 1 <= side && rows < side;
}

/** A 1×1 stride-1 convolution without padding: a product of the weights and the input as it is stored. */
export function pointwise(g: ConvGeometry): boolean {
  return g.kh === 1 && g.kw === 1 && g.stride === 1 && g.pad === 0;
}

/**
 * Whether the forward or input gradient can run as products: a pointwise conv's forward (but through ReLU)
 * and input gradient, another conv's forward by its patches; operands within the texture side.
 */
export function productConvApplies(rt: Runtime, mode: ConvMode, g: ConvGeometry, reluIn: boolean): boolean {
  if (mode === ConvMode.WeightGrad || (mode === ConvMode.InputGrad && !pointwise(g))) return false;
  const r = runGeometry(mode, g);
  return fitsTextures(rt, r.cout, r.cin * r.kh * r.kw) && (mode === ConvMode.Forward || !reluIn);
}

/** Records the patches of batch item b's output pixels q0 .. q0 + count − 1 into `texture`. */
function writePatches(
  rt: Runtime,
  kernel: KernelSpec,
  g: ConvGeometry,
  x: Tensor,
  options: { reluIn: boolean; tokens: boolean },
  [b, q0, count]: [number, number, number],
  texture: PoolBuffer,
  grid: [number, number],
  label: string,
): void {
  rt.dispatch(
    kernel,
    { RELU_IN: options.reluIn, TOKENS: options.tokens },
    [g.cin, g.h, g.w, g.ow, g.kh, g.kw, g.stride, g.pad, b, q0, count],
    [x, texture],
    grid,
    `${label}/im2col`,
  );
}

/**
 * y (+)= conv(x) as products per batch item and run of output pixels, B the input's patches (or for a
 * pointwise conv the input itself); or a pointwise conv's dx = Wᵀ·dy (`mode` InputGrad).
 */
export function convProductCpu(rt: Runtime, args: ConvGemmArgs): void {
  const inputGrad = args.mode === ConvMode.InputGrad;
  const g = runGeometry(args.mode, args.geometry);
  const label = args.label ?? "conv";
  const pixels = g.oh * g.ow;
  const taps = g.cin * g.kh * g.kw;
  const reluIn = !inputGrad && (args.reluIn ?? false);
  // The forward's input options; an input gradient reads dy plainly and writes dx as x was laid out.
  const tokensIn = !inputGrad && (args.tokens ?? false);
  const tokensOut = inputGrad && (args.tokens ?? false);
  const direct = pointwise(g) && !reluIn;
  const run = runLength(rt, taps, pixels, FORWARD_PATCH_FLOATS);
  const shapes = textureShapes({ m: g.cout, n: run, k: taps });
  const texA = operandTexture(rt, shapes.a);
  // W as [Cout, Cin·KH·KW]; a pointwise input gradient's is the forward's [Cout, Cin] read transposed.
  const weights = {
    tensor: args.a,
    rows: g.cout,
    cols: taps,
    ld: inputGrad ? g.cout : taps,
    trans: inputGrad,
  };
  packOperand(rt, { ...weights, off: 0 }, texA, shapes.a, label);
  const texB = operandTexture(rt, shapes.b);
  for (let b = 0; b < g.batch; b++) {
    for (let q0 = 0; q0 < pixels; q0 += run) {
      const count = Math.min(run, pixels - q0);
      if (direct) {
        // x[b][:, run] from [B, Cin, pixels], or from tokens [B, pixels, Cin] read transposed.
        const x = tokensIn
          ? { tensor: args.b, rows: taps, cols: count, ld: taps, trans: true, off: (b * pixels + q0) * taps }
          : {
            tensor: args.b,
            rows: taps,
            cols: count,
            ld: pixels,
            trans: false,
            off: b * taps * pixels + q0,
          };
        packOperand(rt, x, texB, shapes.b, label);
      } else {
        const grid: [number, number] = [Math.ceil(shapes.b[0] / IM2COL_WG), shapes.b[1]];
        writePatches(
          rt,
          PATCH_COLUMNS,
          g,
          args.b,
          { reluIn, tokens: tokensIn },
          [b, q0, count],
          texB,
          grid,
          label,
        );
      }
      productOnTextures(
        rt,
        {
          m: g.cout,
          n: count,
          k: taps,
          c: args.out,
          // dx as tokens [B, pixels, Cin]: element (ci, q) at (b·pixels + q)·Cin + ci, C stored transposed.
          ldc: tokensOut ? g.cout : pixels,
          offC: tokensOut ? (b * pixels + q0) * g.cout : b * g.cout * pixels + q0,
          transC: tokensOut,
          accumulate: args.accumulate ?? false,
          bias: args.bias,
          reluOut: args.reluOut,
          res: args.res,
          maskByRes: inputGrad,
          label,
        },
        texA,
        texB,
      );
    }
  }
  rt.pool.free(texA);
  rt.pool.free(texB);
}

const COL2IM: KernelSpec = {
  file: "conv_col2im.wgsl",
  entry: "main",
  bindings: ["uniform", "read", "read", "read", "storage"],
};
const COL2IM_WG = 64; // kernels/conv_col2im.wgsl's @workgroup_size

/**
 * Whether an input gradient other than the direct kernel's (stride 1) and the pointwise product's can run by
 * columns: dx laid out as an image, and the product's operands within the texture side.
 */
export function columnsInputGradApplies(rt: Runtime, g: ConvGeometry, tokens: boolean): boolean {
  const { a, b } = textureShapes({ m: g.cin * g.kh * g.kw, n: g.oh * g.ow, k: g.cout });
  return !tokens && [...a, ...b].every((d) => d <= rt.ctx.limits.maxTextureDimension2D);
}

/**
 * dx (+)= the input gradient of a strided conv, or a transposed conv's forward (kernel = stride: each
 * output pixel one tap), per batch item: cols = Wᵀ·dy[b] ([Cin·KH·KW, OH·OW], a product on the CPU matmul
 * path, Wᵀ packed once), then each input pixel sums its taps' columns (kernels/conv_col2im.wgsl) with the bias and the
 * ReLU mask. The implicit GEMM (conv.wgsl) ran these at under 1 GFLOP/s on lavapipe.
 */
export function convInputGradColumnsCpu(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const label = args.label ?? "conv.dx";
  const rows = g.cin * g.kh * g.kw;
  const pixels = g.oh * g.ow;
  const cols = rt.tensor(`scratch/${label}/cols`, [rows, pixels]);
  const shapes = textureShapes({ m: rows, n: pixels, k: g.cout });
  // Wᵀ: the weights [Cout, Cin·KH·KW] read transposed, packed once for every batch item.
  const texA = operandTexture(rt, shapes.a);
  packOperand(
    rt,
    { tensor: args.a, rows, cols: g.cout, ld: rows, trans: true, off: 0 },
    texA,
    shapes.a,
    label,
  );
  const texB = operandTexture(rt, shapes.b);
  for (let b = 0; b < g.batch; b++) {
    const dy = {
      tensor: args.b,
      rows: g.cout,
      cols: pixels,
      ld: pixels,
      trans: false,
      off: b * g.cout * pixels,
    };
    packOperand(rt, dy, texB, shapes.b, label);
    productOnTextures(
      rt,
      { m: rows, n: pixels, k: g.cout, c: cols, ldc: pixels, offC: 0, accumulate: false, label },
      texA,
      texB,
    );
    rt.dispatch(
      COL2IM,
      {
        HAS_BIAS: args.bias !== undefined,
        MASK_RES: args.res !== undefined,
        ACCUMULATE: args.accumulate ?? false,
      },
      [g.cin, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.stride, g.pad, b],
      [cols, args.bias ?? rt.unused, args.res ?? rt.unused, args.out],
      [Math.ceil(g.h * g.w / COL2IM_WG), g.cin],
      `${label}/col2im`,
    );
  }
  rt.pool.free(texA);
  rt.pool.free(texB);
  release(rt, cols);
}

/** Whether the weight gradient can run as products on the CPU matmul path (its patch texture fits). */
export function productWeightGradApplies(rt: Runtime, g: ConvGeometry): boolean {
  const taps = g.cin * g.kh * g.kw;
  return Math.ceil(taps / 4) + 1 < rt.ctx.limits.maxTextureDimension2D &&
    taps <= WEIGHT_GRAD_PATCH_FLOATS / 4;
}

/**
 * dw[co, (ci, ky, kx)] (+)= Σ_b Σ_q dy[b, co, q] · col[b, q, (ci, ky, kx)] over the input's patches, as the
 * forward read them (through ReLU, or from tokens): for each batch item and run of output pixels, the
 * patches are written straight into the product's operand texture and one product adds into dw. On
 * lavapipe the implicit GEMM (conv.wgsl) ran this at about 0.2 GFLOP/s: the DPT head's last 3×3 conv at the
 * demo's 70 px, batch 4, took 854 ms there.
 */
export function convWeightGradProductCpu(rt: Runtime, args: ConvGemmArgs): void {
  const g = args.geometry;
  const label = args.label ?? "conv.dw";
  const pixels = g.oh * g.ow;
  const taps = g.cin * g.kh * g.kw;
  const perRun = Math.min(
    Math.floor(WEIGHT_GRAD_PATCH_FLOATS / (4 * Math.ceil(taps / 4))),
    rt.ctx.limits.maxTextureDimension2D - 4,
  );
  const runs = Math.ceil(pixels / perRun);
  const run = Math.ceil(pixels / runs);
  const shapes = textureShapes({ m: g.cout, n: taps, k: run });
  const texA = operandTexture(rt, shapes.a);
  const texB = operandTexture(rt, shapes.b);
  const options = { reluIn: args.reluIn ?? false, tokens: args.tokens ?? false };
  let first = true;
  for (let b = 0; b < g.batch; b++) {
    for (let q0 = 0; q0 < pixels; q0 += run) {
      const count = Math.min(run, pixels - q0);
      // dy[b][:, q0 .. q0 + count] as A; rows of A past `count` are zero, and so the patch rows past it.
      const dy = {
        tensor: args.a,
        rows: g.cout,
        cols: count,
        ld: pixels,
        trans: false,
        off: b * g.cout * pixels + q0,
      };
      packOperand(rt, dy, texA, shapes.a, label);
      writePatches(rt, PATCH_ROWS, g, args.b, options, [b, q0, count], texB, [
        Math.ceil(shapes.b[1] / IM2COL_WG),
        1,
      ], label);
      productOnTextures(
        rt,
        {
          m: g.cout,
          n: taps,
          k: count,
          c: args.out,
          ldc: taps,
          offC: 0,
          accumulate: first ? (args.accumulate ?? false) : true,
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
