/**
 * The CPU kernels' variants for subgroups. On a CPU adapter the lanes of a workgroup read the same texels of
 * one operand (A's rows in the product, the walked keys and values in attention), each lane fetching all of
 * them: on lavapipe a fetch is ~56 instructions for 8 lanes. Where the device has subgroups of one size,
 * each lane fetches its share and subgroupBroadcast hands them round — the same values into the same FMAs,
 * so the same bits. The variants come from the committed kernels' generators at run time, not from files:
 * they serve Deno alone (see core/gpu/device.ts `wantsSubgroups`), and committed they would double the
 * largest sources in kernels/sources.ts.
 *
 * Measured on lavapipe (2 shared cores), each kernel against its committed twin, alternated in one process,
 * CPU ms median of 9–21: the product at ViT-L's fc1 945 → 849, and 676 → 610 with the variant first in each
 * turn; attention's forward at ViT-S 518² 219 → 204 and 170 → 164, and 143 → 129 with the variant first
 * (bench/results/2026-12-07-subgroup-texels-before-after.md, with the forward and the step).
 */
import {
  generate as matmulCpu,
  generateToTexture,
  generateVec4Store,
  ROWS,
} from "../../kernels/matmul_cpu.gen.ts";
import { generateBackward, generateForward } from "../../kernels/attention_cpu.gen.ts";
import { kernelSource } from "./kernels.ts";

const VARIANTS: Record<string, (lanes: number) => string> = {
  "matmul_cpu.wgsl": (lanes) => matmulCpu(lanes),
  "matmul_cpu_vec4.wgsl": (lanes) => generateVec4Store(lanes),
  "matmul_cpu_texture.wgsl": (lanes) => generateToTexture(kernelSource("activation.wgsl"), lanes),
  "attention_cpu.wgsl": (lanes) => generateForward(lanes),
  "attention_cpu_backward.wgsl": (lanes) => generateBackward(lanes),
};

/** Whether the kernels share texels across subgroups of this many lanes (a whole number of A texels each). */
export function usesSubgroups(lanes: number | undefined): lanes is number {
  return lanes !== undefined && lanes > 1 && ROWS % lanes === 0;
}

/** The source of `file`'s variant for subgroups of `lanes`, or undefined where it has none. */
export function subgroupVariant(file: string, lanes: number | undefined): string | undefined {
  return usesSubgroups(lanes) ? VARIANTS[file]?.(lanes) : undefined;
}
