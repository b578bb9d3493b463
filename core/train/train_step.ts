/**
 * One training step on the GPU, shared by the trainer and the training bench: upload the batch, the training
 * graph's forward, SiLog read back once, then the backward with AdamW applied to each parameter the moment
 * its gradient is complete (and the gradient freed at once).
 *
 * The loss is read *before* the backward so that a step whose loss is not finite, or that has no usable
 * pixel, never touches the weights: its backward runs with a sink that takes no gradient, only to free what
 * the forward kept.
 */
import type { DepthRange } from "../eval/metrics.ts";
import type { PoolStats } from "../gpu/pool.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { Tensor } from "../gpu/tensor.ts";
import { TrompeError } from "../errors.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import type { GpuWeights } from "../nn/model/weights.ts";
import { release } from "../nn/ops/release.ts";
import { AdamW } from "./adamw.ts";
import type { CheckpointPolicy } from "./checkpointing.ts";
import type { GradientSink } from "../nn/model/gradient_sink.ts";
import { TrainGraph } from "./model_backward.ts";
import { groupLr } from "./param_groups.ts";
import { readSilog, silogBackward, silogForward } from "./silog.ts";

/** A batch on the CPU: images [B, 3, H, W], depth [B, H, W] (0 where invalid), valid [B, H, W]. */
export interface StepBatch {
  batch: number;
  height: number;
  width: number;
  image: Float32Array;
  depth: Float32Array;
  valid: Uint32Array;
}

export interface StepOutcome {
  /** NaN when no pixel counted, or when the model diverged (its depth made the log-ratio non-finite). */
  loss: number;
  pixels: number;
  /** Whether the weights were updated (a finite loss over at least one pixel). */
  applied: boolean;
  ms: number;
  /** Of `ms`: upload, forward and loss, up to the loss readback (the rest is the backward with AdamW). */
  forwardMs: number;
  /** The pool during the step: its peak and the breakdown at the peak. */
  stats: PoolStats;
}

/** Gradients a backward hands over are not wanted: nothing is updated, everything is freed. */
const DISCARD: GradientSink = { grad: () => undefined, complete: () => {} };

export class TrainStepper {
  readonly graph: TrainGraph;
  readonly adam: AdamW;
  private readonly live = new Map<string, Tensor>();
  private readonly sink: GradientSink;
  /** The encoder rate of the step being run (the sink reads it for each update). */
  private lr = 0;

  constructor(
    readonly rt: Runtime,
    config: ModelConfig,
    readonly weights: GpuWeights,
    options: { checkpoint: CheckpointPolicy; trainable: (key: string) => boolean },
  ) {
    this.graph = new TrainGraph(config, weights, options);
    this.adam = new AdamW(rt);
    this.sink = {
      grad: (key) => {
        if (!options.trainable(key)) return undefined;
        let g = this.live.get(key);
        if (!g) this.live.set(key, g = rt.tensor(`grads/${key}`, weights.get(key).shape));
        return g;
      },
      complete: (key) => {
        const g = this.live.get(key);
        if (!g) return;
        this.adam.update(key, weights.get(key), g, groupLr(key, this.lr));
        this.live.delete(key);
        release(rt, g);
      },
    };
  }

  /** Runs one step at encoder rate `lr` (decoder 10×), loss over valid & range, and waits for the GPU. */
  async step(b: StepBatch, lr: number, range: Required<DepthRange>): Promise<StepOutcome> {
    const rt = this.rt;
    const t0 = performance.now();
    rt.pool.resetPeak();
    this.lr = lr;
    const image = rt.upload("act/image", [b.batch, 3, b.height, b.width], b.image);
    const state = this.graph.forward(rt, image);
    // The loss's inputs live from the loss to its gradient only: not at the forward's or backward's peak.
    const target = rt.upload("act/target", [b.batch, b.height, b.width], b.depth);
    const valid = rt.upload("act/valid", [b.batch, b.height, b.width], b.valid);
    const inputs = { pred: state.depth, target, valid };
    const loss = silogForward(rt, inputs, range);
    const value = await readSilog(rt, loss);
    const forwardMs = performance.now() - t0;
    const finite = Number.isFinite(value.loss) && Number.isFinite(value.meanLogRatio);
    const applied = value.count > 0 && finite;
    const dDepth = applied ? silogBackward(rt, inputs, loss) : rt.tensor("tmp/zero_grad", state.depth.shape);
    release(rt, image, state.depth, target, valid, loss.scratch);
    this.graph.backward(rt, state, dDepth, applied ? this.sink : DISCARD);
    if (this.live.size > 0) {
      throw new TrompeError("gpu", `gradients never completed: ${[...this.live.keys()].join(", ")}`);
    }
    await rt.sync();
    return {
      loss: finite ? value.loss : NaN,
      pixels: value.count,
      applied,
      ms: performance.now() - t0,
      forwardMs,
      stats: rt.pool.stats(),
    };
  }

  dispose(): void {
    for (const g of this.live.values()) this.rt.free(g);
    this.live.clear();
    this.adam.free();
  }
}
