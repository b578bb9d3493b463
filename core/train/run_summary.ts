/**
 * What a training run says before its first step: the settings it runs with (defaults filled in), how many
 * steps that makes, where it starts from, and the planned memory of one step on this device. A mistaken flag
 * is then seen in the first second, not after hours.
 */
import { describePeak } from "../gpu/pool.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import type { DepthRange } from "../eval/metrics.ts";
import { describeFreeze } from "./freeze.ts";
import { planTrainingStep } from "./memory_plan.ts";
import type { CheckedTrainOptions } from "./options.ts";

export interface RunSummaryInput {
  readonly o: CheckedTrainOptions;
  readonly dataset: string;
  readonly weights: string;
  readonly config: ModelConfig;
  readonly frames: {
    readonly train: readonly unknown[];
    readonly val: readonly unknown[];
    valSource: string;
  };
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly startStep: number;
  readonly range: Required<DepthRange>;
}

export function runSummaryLines(s: RunSummaryInput, rt: Runtime): string[] {
  const { o, config } = s;
  const stop = s.totalSteps < o.epochs * s.stepsPerEpoch ? ` (--max-steps ${o.maxSteps})` : "";
  const head = config.head === "metric" ? `metric head, max depth ${config.maxDepth} m` : "relative head";
  const plan = planTrainingStep({
    config,
    batch: o.batch,
    height: o.imgSize,
    width: o.imgSize,
    checkpoint: o.checkpoint,
    freeze: o.freeze,
    updateInBackward: true,
    adapter: rt.ctx,
  });
  return [
    `start:    ${s.weights} (embed ${config.embedDim}, depth ${config.depth}; ${head})` +
    (s.startStep > 0 ? `, resuming at step ${s.startStep}` : ""),
    `data:     ${s.dataset}, ${s.frames.train.length} training frames, ${s.frames.val.length} validation ` +
    `(${s.frames.valSource})`,
    `steps:    ${s.totalSteps} in all${stop}: ${o.epochs} epochs × ${s.stepsPerEpoch} steps of batch ${o.batch}`,
    `settings: lr ${o.lr} encoder, ${o.lr * 10} decoder (poly decay); crop ${o.imgSize}; loss over ` +
    `${s.range.minDepth}–${s.range.maxDepth} m; freeze ${describeFreeze(o.freeze)}; checkpointing ` +
    `${o.checkpoint}; seed ${o.seed}; ${o.workers} worker${o.workers === 1 ? "" : "s"}` +
    (o.valEvery ? `; validation every ${o.valEvery} steps and epoch` : "; validation every epoch"),
    `memory:   planned step ${describePeak(plan.stats)}; ${plan.trainable.toLocaleString("en")} of ` +
    `${plan.parameters.toLocaleString("en")} parameters trained`,
  ];
}
