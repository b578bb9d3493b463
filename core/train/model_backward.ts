/**
 * Depth Anything V2's training graph on the WGSL ops: a forward that keeps what the backward reads (or, per
 * the checkpoint policy, only stage boundaries), and a backward that hands every parameter's gradient to a
 * `GradientSink` the moment it is complete — after the last op that reads that parameter's weight — so the
 * trainer can apply AdamW and free the gradient at once. A whole-model gradient never exists.
 *
 * The stages are the inference model's own (core/nn/model/vit_stages.ts, dpt_stages.ts) in their keeping mode, so
 * its depth equals the inference forward's bit for bit (tests/nn/one_graph.test.ts); a recomputed stage runs
 * its forward again with the same kernels, bit-identical.
 *
 * Memory discipline: every tensor is freed as soon as its last reader is recorded; the residual stream's
 * gradient is one buffer that each block's backward accumulates into in place; GELU's output is recomputed
 * from its input in the backward instead of being kept.
 *
 * The stages are core/nn/model/vit_stages.ts and dpt_stages.ts; this file chains them.
 */
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { TrompeError } from "../errors.ts";
import { type ModelConfig, PATCH_SIZE } from "../nn/model/config.ts";
import type { GpuWeights } from "../nn/model/weights.ts";
import { type AttentionKept, attentionSavedTensors } from "../nn/ops/attention.ts";
import { release } from "../nn/ops/release.ts";
import { type CheckpointPolicy, recomputes } from "./checkpointing.ts";
import {
  blockOwned,
  type BlockSaved,
  BlockStage,
  EmbeddingStage,
  type Feature,
  featureBackward,
  featureForward,
} from "../nn/model/vit_stages.ts";
import { completeAll, freeOwned, type GradientSink } from "../nn/model/gradient_sink.ts";
import {
  branchOwned,
  type BranchSaved,
  BranchStage,
  fusionOwned,
  type FusionSaved,
  FusionStage,
  outputOwned,
  type OutputSaved,
  OutputStage,
} from "../nn/model/dpt_stages.ts";
import { fusionSize } from "../nn/model/dpt.ts";

/** What the forward leaves for the backward. */
export interface ForwardState {
  /** [B, h, w], the model's output; the trainer frees it after the loss. */
  depth: Tensor;
  grid: { h: number; w: number };
  cols: Tensor;
  /** x_i: block i's input (x_{L+1}: the last used block's output). */
  xs: Tensor[];
  blocks: (BlockSaved | undefined)[];
  /** A recomputed block's attention ctx and statistics, where it runs fused (`BlockStage.forwardKeepAttention`). */
  attention: (AttentionKept | undefined)[];
  feats: Feature[];
  branches: (BranchSaved | undefined)[];
  rn: Tensor[];
  /** paths[i]: refinenet{i+1}'s output. */
  paths: Tensor[];
  fusions: (FusionSaved | undefined)[];
  output?: OutputSaved;
}

/**
 * Attention's largest scores buffer in training: the backward holds two (probabilities and their gradient),
 * so ViT-L's 16 heads at 1370 tokens in one chunk would be 2 × 115 MiB; 4-head chunks keep that to 58 MiB
 * at the price of more, still large, dispatches.
 */
export const TRAIN_SCORE_BYTES = 32 * 1024 * 1024;

export interface TrainGraphOptions {
  checkpoint: CheckpointPolicy;
  /** Largest attention scores buffer (default TRAIN_SCORE_BYTES; the binding limit caps it anyway). */
  maxScoreBytes?: number;
  /** Whether a parameter trains (the backward stops where nothing below it does). */
  trainable: (key: string) => boolean;
}

export class TrainGraph {
  private readonly embed: EmbeddingStage;
  private readonly blocks: BlockStage[];
  private readonly branches: BranchStage[];
  private readonly fusions: FusionStage[];
  private readonly output: OutputStage;
  /** The last block whose output the head reads: blocks past it get no gradient, as in PyTorch. */
  private readonly lastBlock: number;
  /** Lowest block whose backward runs: below it nothing trains (lastBlock + 1 when no block needs it). */
  private readonly lowestBackward: number;
  private readonly embedTrains: boolean;
  private readonly normTrains: boolean;

  constructor(
    readonly config: ModelConfig,
    readonly weights: GpuWeights,
    readonly options: TrainGraphOptions,
  ) {
    if (config.ffn !== "mlp") {
      throw new TrompeError(
        "unsupported",
        `training supports the MLP encoders (vits, vitb, vitl), not ${config.ffn}`,
      );
    }
    this.embed = new EmbeddingStage(weights);
    this.lastBlock = Math.max(...config.layers);
    this.blocks = Array.from(
      { length: this.lastBlock + 1 },
      (_, i) => new BlockStage(weights, i, config.heads, options.maxScoreBytes ?? TRAIN_SCORE_BYTES),
    );
    const lookup = (key: string) => weights.get(key);
    this.branches = [0, 1, 2, 3].map((i) => new BranchStage(lookup, i));
    this.fusions = [0, 1, 2, 3].map((i) => new FusionStage(lookup, i));
    this.output = new OutputStage(lookup, config);
    const keys = [...weights.tensors.keys()];
    const trains = (prefix: string) => keys.some((k) => k.startsWith(prefix) && options.trainable(k));
    this.embedTrains = ["pretrained.cls_token", "pretrained.pos_embed", "pretrained.patch_embed."].some(
      trains,
    );
    this.normTrains = trains("pretrained.norm.");
    const lowestBlock = this.blocks.findIndex((b) => trains(`${b.prefix}.`));
    this.lowestBackward = this.embedTrains ? 0 : lowestBlock >= 0 ? lowestBlock : this.lastBlock + 1;
  }

  /** Whether the head passes gradients into the encoder at all. */
  private get encoderBackward(): boolean {
    return this.lowestBackward <= this.lastBlock || this.normTrains;
  }

  forward(rt: Runtime, image: Tensor): ForwardState {
    const recomputeBlocks = recomputes(this.options.checkpoint, "block");
    const recomputeHead = recomputes(this.options.checkpoint, "head");
    const { x0, cols, grid } = this.embed.forward(rt, image, true);
    const xs = [x0];
    const blocks: (BlockSaved | undefined)[] = [];
    const feats: ForwardState["feats"] = [];
    const attention: (AttentionKept | undefined)[] = [];
    for (let i = 0; i <= this.lastBlock; i++) {
      let out: Tensor;
      if (recomputeBlocks || i < this.lowestBackward) {
        // A block below the lowest backward (a frozen encoder's) never needs its activations again; under
        // `blocks` a recomputed one keeps the fused attention's output, the largest part of its forward on
        // a CPU (`all` keeps only stage boundaries).
        const first = this.blocks[i].forwardKeepAttention(rt, xs[i]);
        out = first.out;
        const { qkv, ctx, stats } = first.attn;
        if (i >= this.lowestBackward && this.options.checkpoint === "blocks" && stats) {
          attention[i] = { ctx, stats };
          release(rt, qkv);
        } else {
          freeOwned(rt, attentionSavedTensors(first.attn));
        }
      } else {
        const kept = this.blocks[i].forwardKeep(rt, xs[i]);
        out = kept.out;
        blocks[i] = kept.saved;
      }
      xs.push(out);
      const layer = this.config.layers.indexOf(i);
      if (layer >= 0) feats[layer] = featureForward(rt, this.weights, out, layer, { keep: true });
    }
    const rn: Tensor[] = [];
    const branches: (BranchSaved | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      const r = this.branches[i].forward(rt, feats[i].feat, [grid.h, grid.w], true);
      rn[i] = r.rn;
      if (recomputeHead) freeOwned(rt, branchOwned(r.saved!));
      else branches[i] = r.saved;
    }
    const paths: Tensor[] = [];
    const fusions: (FusionSaved | undefined)[] = [];
    for (let i = 3; i >= 0; i--) {
      const f = this.fusions[i].forward(rt, paths[i + 1], rn[i], fusionSize(rn, i), true);
      paths[i] = f.out;
      if (recomputeHead) freeOwned(rt, fusionOwned(f.saved!));
      else fusions[i] = f.saved;
    }
    const { depth, saved } = this.output.forward(
      rt,
      paths[0],
      grid.h * PATCH_SIZE,
      grid.w * PATCH_SIZE,
      true,
    );
    if (recomputeHead) freeOwned(rt, outputOwned(saved!));
    return {
      depth,
      grid,
      cols: cols!,
      xs,
      blocks,
      attention,
      feats,
      branches,
      rn,
      paths,
      fusions,
      output: recomputeHead ? undefined : saved,
    };
  }

  /**
   * Runs the backward from dDepth (the loss gradient, freed once read), handing each parameter's gradient
   * to `sink` when complete, and frees everything the forward left but the depth.
   */
  backward(rt: Runtime, state: ForwardState, dDepth: Tensor, sink: GradientSink): void {
    const s = state;
    const { h, w } = s.grid;
    let output = s.output;
    if (!output) {
      const again = this.output.forward(rt, s.paths[0], h * PATCH_SIZE, w * PATCH_SIZE, true);
      release(rt, again.depth);
      output = again.saved!;
    }
    let dPath: Tensor | undefined = this.output.backward(rt, output, s.paths[0], dDepth, sink);
    // Fusion blocks fine to coarse, each followed by its branch, so each rn gradient dies at once; every
    // stage frees what it saved as its backward goes.
    const needFeat = this.encoderBackward;
    const dFeats: (Tensor | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      let fusion = s.fusions[i];
      if (!fusion) {
        const again = this.fusions[i].forward(rt, s.paths[i + 1], s.rn[i], fusionSize(s.rn, i), true);
        release(rt, again.out);
        fusion = again.saved!;
      }
      const { dSkip, dPrev } = this.fusions[i].backward(rt, fusion, dPath!, sink);
      freeOwned(rt, [s.paths[i + 1], s.rn[i]]);
      dPath = dPrev;
      let branch = s.branches[i];
      if (!branch) {
        const again = this.branches[i].forward(rt, s.feats[i].feat, [h, w], true);
        release(rt, again.rn);
        branch = again.saved!;
      }
      dFeats[i] = this.branches[i].backward(rt, branch, s.feats[i].feat, dSkip, sink, needFeat);
    }
    this.encoderBackwardPass(rt, s, dFeats, sink);
  }

  private encoderBackwardPass(
    rt: Runtime,
    s: ForwardState,
    dFeats: (Tensor | undefined)[],
    sink: GradientSink,
  ): void {
    const top = this.lastBlock;
    const dStream = this.encoderBackward ? rt.tensor("grads/act/stream", s.xs[top + 1].shape) : undefined;
    const lowestLayer = Math.min(...this.config.layers);
    for (let i = top; i >= 0; i--) {
      const runBlock = i >= this.lowestBackward;
      const layer = this.config.layers.indexOf(i);
      if (layer >= 0) {
        const f = s.feats[layer];
        const dFeat = dFeats[layer];
        if (dStream && dFeat && (runBlock || this.normTrains)) {
          featureBackward(rt, this.weights, s.xs[i + 1], f.stats!, dFeat, dStream, sink, layer);
        }
        if (i === lowestLayer) completeAll(sink, ["pretrained.norm.weight", "pretrained.norm.bias"]);
        freeOwned(rt, [dFeat, f.stats?.mean, f.stats?.rstd]);
      }
      release(rt, s.xs[i + 1]);
      let saved = s.blocks[i];
      if (runBlock) {
        if (!saved) {
          saved = this.blocks[i].keepToHidden(rt, s.xs[i], s.attention[i]);
        }
        this.blocks[i].backward(rt, s.xs[i], saved, dStream!, sink);
      }
      if (saved) freeOwned(rt, blockOwned(saved));
    }
    if (this.embedTrains) this.embed.backward(rt, s.cols, s.grid, dStream!, sink);
    freeOwned(rt, [s.xs[0], s.cols, dStream]);
  }
}
