/**
 * What the CPU kernels' generators (matmul_cpu.gen.ts, attention_cpu.gen.ts) share for their variants for
 * subgroups: on a CPU adapter every lane of a workgroup reads the same texels of one operand, so in a variant
 * each lane fetches a share of them and subgroupBroadcast hands them round. On lavapipe a texel fetch is ~56
 * instructions for 8 lanes (a scalar load per lane, then a transpose) and a broadcast from a constant lane a
 * register extract and a splat. The same texels into the same FMAs: the same bits as the committed kernels.
 */

/** The lanes of a subgroup, or undefined: every lane fetches every texel (the committed kernels). */
export type SubgroupLanes = number | undefined;

/** The entry point's parameters, with the lane's index in its subgroup where texels are shared. */
export function entryParameters(lanes: SubgroupLanes): string {
  const lane = lanes ? ", @builtin(subgroup_invocation_id) lane: u32" : "";
  return `@builtin(global_invocation_id) gid: vec3<u32>${lane}`;
}

/**
 * The header's note on a variant for subgroups, which core/gpu/subgroup_kernels.ts generates at run time
 * rather than kernels/ committing it; `share` says what each lane fetches.
 */
export function subgroupNote(lanes: SubgroupLanes, share: string): string {
  if (!lanes) return "";
  return `
//
// This variant (not committed; generated at run time for devices with subgroups of ${lanes} lanes): each lane
// fetches ${share} and subgroupBroadcast hands them round.`;
}
