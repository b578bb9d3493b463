/**
 * Which kernel runs a convolution on a CPU adapter (lavapipe/llvmpipe), chosen by process CPU time (which a
 * host shared with other work moves far less than the wall clock) on the DPT head's ViT-S shapes at 518²,
 * each shape's kernels alternated in one process (bench/results/2026-12-06-conv-products-before-after.md):
 * - stride 1, forward and input gradient, ≥ 32 output channels (the conv that runs): one product over the
 *   input's padded rows, each tap's rows read at their offset (conv_rows_product.ts). Against the direct
 *   kernel, min CPU ms of 3 alternated in one process (2026-12-06, bench/results/
 *   2026-12-06-conv-rows-before-after.md): refinenet 64→64 at 148² 117 / 112, at 74² 42 / 29,
 *   output_conv1 64→32 at 296² 249 / 229, output_conv2.0 32→32 at 518² 524 / 401; input gradients 143 /
 *   126, 413 / 386, 244 / 220. Its scratch is a 3 MiB run of rows where the direct kernel packs the whole
 *   padded input (35 MB at output_conv2.0, live at the ViT-S step's peak).
 * - other 3×3 stride 1 (fewer channels): the direct kernel (conv_cpu.ts), whose 16-channel blocks waste less
 *   than the product's 32 rows. As products over patches written into the operand texture they took
 *   1.7–2.8× its CPU time (refinenet 64→64 at 74²: 79–88 ms against 42–45; output_conv2.0 32→32 at 518²:
 *   1554 against 558): the patch copy costs about what the product does.
 * - 1×1 (pointwise) with ≥ 16 output channels: a product of the weights and the input as stored, 1.5–2.4×
 *   less CPU time than the direct kernel at 64 and 384 channels; at one channel (output_conv2.2) the direct
 *   kernel's 16-channel block wastes less than the product's 32-row one (166 against 209 ms).
 * - other forwards (resize_layers.3, 3×3 stride 2): products over patches, 5.6× less CPU time than the
 *   implicit GEMM (conv.wgsl); other input gradients (that one's, and the transposed convolutions'
 *   forwards, 4.7× and 5.7× less for the ×4 and ×2 upsamplings): by columns (conv_product.ts).
 * - weight gradients: stride 1, one product over the input's padded rows, each tap's rows read at their
 *   offset (conv_weight_grad_rows.ts): median CPU time of 3 alternated against products over patches,
 *   567 against 1532 ms at output_conv2.0 (32 → 32 at 518²), 382 against 1140 (64 → 32 at 296²), 226
 *   against 464 (64 → 64 at 148²); other strides, products over patches.
 * - a 1×1 forward to one output channel (output_conv2.2, 32 → 1 at 518²): its own kernel
 *   (conv_pointwise1_cpu.ts), median CPU time of 5 alternated 23 against the direct kernel's 237 ms; its
 *   weight gradient too, by partial sums over texel views.
 */
import type { Runtime } from "../../gpu/runtime.ts";
import { type ConvGemmArgs, ConvMode } from "./conv2d.ts";
import { convCpu, cpuConvApplies, runGeometry } from "./conv_cpu.ts";
import {
  convPointwiseToOne,
  convPointwiseToOneWeightGrad,
  pointwiseToOneApplies,
  pointwiseToOneWeightGradApplies,
} from "./conv_pointwise1_cpu.ts";
import {
  columnsInputGradApplies,
  convInputGradColumnsCpu,
  convProductCpu,
  convWeightGradProductCpu,
  pointwise,
  productConvApplies,
  productWeightGradApplies,
} from "./conv_product.ts";
import { convRowsProductCpu, rowsProductApplies } from "./conv_rows_product.ts";
import { convWeightGradRowsCpu, weightGradRowsApplies } from "./conv_weight_grad_rows.ts";

/** The fewest output channels at which a pointwise conv runs as a product (see above). */
const POINTWISE_PRODUCT_CHANNELS = 16;

/** The fewest output channels at which a stride-1 conv runs over padded rows: one 32-row block of C. */
const ROWS_PRODUCT_CHANNELS = 32;

/** Runs the conv on a CPU-shaped kernel and returns true, or returns false (conv.wgsl then runs it). */
export function runConvCpu(rt: Runtime, args: ConvGemmArgs): boolean {
  const g = args.geometry;
  if (pointwiseToOneApplies(args.mode, g, args.tokens ?? false)) {
    convPointwiseToOne(rt, args);
    return true;
  }
  if (pointwiseToOneWeightGradApplies(rt, args)) {
    convPointwiseToOneWeightGrad(rt, args);
    return true;
  }
  const rowsWide = runGeometry(args.mode, g).cout >= ROWS_PRODUCT_CHANNELS;
  if (!pointwise(g) && rowsWide && rowsProductApplies(rt, args.mode, g, args.tokens ?? false)) {
    convRowsProductCpu(rt, args);
    return true;
  }
  const product = productConvApplies(rt, args.mode, g, args.reluIn ?? false);
  const direct = cpuConvApplies(rt, args.mode, g);
  const wide = runGeometry(args.mode, g).cout >= POINTWISE_PRODUCT_CHANNELS;
  if (product && (!direct || (pointwise(g) && wide))) {
    convProductCpu(rt, args);
  } else if (direct) {
    convCpu(rt, args);
  } else if (args.mode === ConvMode.InputGrad && columnsInputGradApplies(rt, g, args.tokens ?? false)) {
    convInputGradColumnsCpu(rt, args);
  } else if (args.mode === ConvMode.WeightGrad && weightGradRowsApplies(rt, g)) {
    convWeightGradRowsCpu(rt, args);
  } else if (args.mode === ConvMode.WeightGrad && productWeightGradApplies(rt, g)) {
    convWeightGradProductCpu(rt, args);
  } else {
    return false;
  }
  return true;
}
