/**
 * Activation checkpointing policies (`--checkpoint none|blocks|all`). The training graph is cut into
 * stages (each DINOv2 block; each head branch, fusion block and the output stage); a checkpointed stage
 * keeps only its outputs in the forward and runs its forward again, with the same kernels and so with
 * bit-identical results, right before its backward.
 *
 * - none: every stage keeps what its backward reads;
 * - blocks: the encoder blocks recompute (the bulk of ViT-L's activations), the head keeps its tensors; on
 *   a CPU adapter, where attention runs fused and is the largest part of a block's forward, each block also
 *   keeps that kernel's output (ctx and statistics: 2.1 MiB a block at ViT-S 518²) for its recompute;
 * - all: the head's stages recompute too, so only stage boundaries outlive the forward.
 */
import { TrompeError } from "../errors.ts";

export type CheckpointPolicy = "none" | "blocks" | "all";

export const CHECKPOINT_POLICIES: readonly CheckpointPolicy[] = ["none", "blocks", "all"];

export type StageKind = "block" | "head";

export function recomputes(policy: CheckpointPolicy, stage: StageKind): boolean {
  return policy === "all" || (policy === "blocks" && stage === "block");
}

export function parseCheckpoint(value: string | undefined): CheckpointPolicy {
  const v = value ?? "blocks";
  if (!(CHECKPOINT_POLICIES as readonly string[]).includes(v)) {
    throw new TrompeError("bad-argument", `"${v}" is not a checkpoint policy`, {
      subject: "--checkpoint",
      hint: CHECKPOINT_POLICIES.join(" | "),
    });
  }
  return v as CheckpointPolicy;
}
