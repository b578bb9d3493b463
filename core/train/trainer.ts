/**
 * Fine-tuning Depth Anything V2 on WebGPU: metric_depth/train.py's loop on trompe's training graph.
 *
 * Each step: a batch from the worker loader (the official train transform, seeded per frame and epoch) →
 * the training graph's forward (keeping activations per the checkpoint policy) → SiLog (λ 0.5, valid &
 * min_depth ≤ d ≤ max_depth), read back once → the backward, which hands each parameter's gradient over the
 * moment it is complete; AdamW (official groups: encoder lr, decoder ×10, poly decay) updates that
 * parameter at once and the gradient is freed, so no whole-model gradient ever exists and frozen parameters
 * get neither gradients nor moments.
 *
 * Validation with the official metrics runs every epoch (and every `valEvery` steps, and at the end); each
 * one saves `latest` and, when abs_rel improves, `best` (safetensors + official .pth), then the resume point
 * (train_state.safetensors). A resumed run continues exactly: same weights, moments, step counts, data
 * order and crops. A non-finite loss stops the run before that step touches the weights; weights or moments
 * that AdamW made non-finite stop it at the next save, before anything is written (finite_state.ts), so the
 * files on disk are always those of the last finite save.
 */
import { join, resolve } from "node:path";
import { Progress } from "../cli/progress.ts";
import { writeRunRecord } from "../cli/record.ts";
import { type DatasetName, DEPTH_RANGE } from "../data/datasets.ts";
import type { DepthRange } from "../eval/metrics.ts";
import { describePeak, type PoolStats } from "../gpu/pool.ts";
import { Runtime } from "../gpu/runtime.ts";
import { TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import type { Provenance } from "../nn/model/checkpoint.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import { freeWeights, type GpuWeights, uploadWeights } from "../nn/model/weights.ts";
import { epochOrder, type FrameRef, type LoadedItem, SampleLoader } from "./data_loader.ts";
import { describeFreeze, isTrainable } from "./freeze.ts";
import { polyLr } from "./schedule.ts";
import { type StepBatch, TrainStepper } from "./train_step.ts";
import { type StepRecord, trainLogs, type ValRecord, writeLossCurve } from "./train_log.ts";
import {
  type BestSoFar,
  exportCheckpoint,
  readMoments,
  readWeights,
  restoreMoments,
  saveTrainState,
} from "./train_state.ts";
import { validate } from "./validate.ts";
import { requireFiniteState } from "./finite_state.ts";
import { TrainRejects } from "./rejects.ts";
import { checkTrainOptions, type TrainOptions } from "./options.ts";
import { openRun } from "./run_setup.ts";
import { runSummaryLines } from "./run_summary.ts";
import { plural } from "../plural.ts";

/** What a training run did: steps, why it stopped, its best validation and peak memory. */
export interface TrainResult {
  out: string;
  /** Steps taken in all (including those before a resume). */
  steps: number;
  totalSteps: number;
  stepsPerEpoch: number;
  stopped: "finished" | "max-steps" | "interrupted";
  /** Losses of this run's steps, in order (NaN for a step skipped for lack of valid pixels). */
  losses: { step: number; loss: number }[];
  validations: ValRecord[];
  best: BestSoFar | null;
  /** The pool's peak of the step that peaked highest, with its breakdown. */
  peak: PoolStats;
  meanStepMs: number;
  files: Record<string, string>;
  notes: string[];
  /** Frames that failed to load, over the whole run (rejects.jsonl). */
  failed: number;
}

interface Batch {
  items: LoadedItem[];
  failures: { rgb: string; error: string }[];
}

/**
 * The loss range: from --min-depth to the model's max depth for a metric head (as train.py's one
 * --max-depth), else the dataset's.
 */
function lossRange(config: ModelConfig, dataset: DatasetName, minDepth: number): Required<DepthRange> {
  const maxDepth = config.maxDepth ?? DEPTH_RANGE[dataset].maxDepth;
  if (!(minDepth < maxDepth)) {
    throw new TrompeError("bad-argument", `${minDepth} m is not below the max depth ${maxDepth} m`, {
      subject: "--min-depth",
    });
  }
  return { minDepth, maxDepth };
}

/** Stacks loaded items into one batch: images [B, 3, S, S], depth and valid [B, S, S]. */
function stackBatch(items: readonly LoadedItem[], size: number): StepBatch {
  const b = items.length, plane = size * size;
  const batch: StepBatch = {
    batch: b,
    height: size,
    width: size,
    image: new Float32Array(b * 3 * plane),
    depth: new Float32Array(b * plane),
    valid: new Uint32Array(b * plane),
  };
  items.forEach((item, i) => {
    batch.image.set(item.image, i * 3 * plane);
    batch.depth.set(item.depth, i * plane);
    batch.valid.set(item.valid, i * plane);
  });
  return batch;
}

/**
 * Fine-tunes Depth Anything V2 on WebGPU as the official train.py does (SiLog, AdamW, poly decay), with
 * checkpointing and exact resume (what `deno task train` runs).
 *
 * @example
 * ```ts
 * import { runTraining } from "@trompe/trompe";
 *
 * const result = await runTraining({
 *   weights: "depth_anything_v2_metric_hypersim_vits.pth",
 *   dataset: "hypersim",
 *   root: "/data/hypersim-flat",
 *   split: "/data/hypersim-flat/splits/train.txt",
 *   out: "runs/flat",
 *   maxSteps: 1000,
 *   log: console.log,
 * });
 * console.log(`${result.steps} steps, stopped: ${result.stopped}`);
 * ```
 */
export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const o = checkTrainOptions(options);
  const log = options.log ?? (() => {});
  const run = await openRun(options, o);
  const { out, root, split, valSplit, statePath, notes, files, config, frames, stepsPerEpoch, totalSteps } =
    run;
  const { identity, stateDict, startStep, resumed } = run;
  let best = run.best;
  const logs = trainLogs(out);
  // A step record carries the step's 0-based index, a validation the number of steps taken before it.
  await logs.steps.resumeWith((r) => r.step < startStep);
  await logs.vals.resumeWith((r) => r.step <= startStep);
  const rejects = new TrainRejects(out, split, valSplit ?? split);
  await rejects.resumeAt(startStep);

  const rt = options.runtime ?? await Runtime.create();
  const weights: GpuWeights = uploadWeights(rt, stateDict);
  const trainable = (key: string) => isTrainable(key, o.freeze);
  const stepper = new TrainStepper(rt, config, weights, { checkpoint: o.checkpoint, trainable });
  const adam = stepper.adam;
  if (resumed) restoreMoments(rt, adam, weights, resumed.moments);
  const range = lossRange(config, options.dataset, o.minDepth);
  const summary = { o, dataset: options.dataset, weights: resolve(options.weights), config, frames, range };
  for (const line of runSummaryLines({ ...summary, stepsPerEpoch, totalSteps, startStep }, rt)) log(line);
  const loader = new SampleLoader({
    dataset: options.dataset,
    root,
    size: o.imgSize,
    seed: o.seed,
    workers: o.workers,
  });

  // An augmented set carries the recipe that made it: the checkpoint names it, so a result can be traced
  // back to the augmentation it was trained on.
  const recipePath = join(root, "recipe.json");
  const recipe = await Deno.stat(recipePath).then(() => recipePath, () => undefined);
  const provenance = (step: number): Provenance => ({
    parent: resolve(options.weights),
    data: `${options.dataset} ${root} (${split})`,
    ...(recipe ? { recipe } : {}),
    steps: step,
    epochs: step / stepsPerEpoch,
    seed: o.seed,
    lr: o.lr,
    batch: o.batch,
    imgSize: o.imgSize,
    freeze: describeFreeze(o.freeze),
  });
  let lastSaved = startStep;
  /** Steps that updated nothing (no loadable frame, or no usable pixel), resumed parts included. */
  let skipped = resumed?.info.skipped ?? 0;

  /** Finiteness, validation, checkpoints, then the resume point (the file that commits the save). */
  const validateAndSave = async (step: number, runValidation: boolean) => {
    const current = await readWeights(rt, config, weights);
    const moments = await readMoments(rt, adam);
    requireFiniteState(current, moments, step, {
      step: lastSaved > startStep || resumed ? lastSaved : null,
      out,
      lr: o.lr,
    });
    if (runValidation) {
      const val = await validate(rt, config, weights, loader, frames.val, range);
      const absRel = val.metrics?.abs_rel;
      // A NaN abs_rel (no finite prediction) is no improvement, even as the first validation.
      const improved = absRel !== undefined && Number.isFinite(absRel) &&
        (best === null || absRel < best.absRel);
      if (improved) {
        best = { absRel, step };
        const saved = await exportCheckpoint(out, "best", config, current, provenance(step));
        files.bestSafetensors = saved.safetensors;
        files.bestPth = saved.pth;
      }
      await logs.vals.append({
        step,
        epoch: step / stepsPerEpoch,
        images: val.images,
        failed: val.failures.length,
        metrics: val.metrics,
        best: improved,
      });
      for (const f of val.failures) log(`validation skipped ${f.rgb}: ${f.error}`);
      await rejects.val(step, val.images, val.failures);
      log(
        `step ${step}: val abs_rel ${absRel?.toFixed(4) ?? "n/a"}, d1 ${
          val.metrics?.d1.toFixed(4) ?? "n/a"
        } ` +
          `over ${plural(val.images, "image")}${improved ? " (best)" : ""}`,
      );
    }
    const latest = await exportCheckpoint(out, "latest", config, current, provenance(step));
    files.latestSafetensors = latest.safetensors;
    files.latestPth = latest.pth;
    await saveTrainState(statePath, current, moments, {
      step,
      stepsPerEpoch,
      best,
      identity,
      lr: o.lr,
      skipped,
    });
    await writeLossCurve(join(out, "loss_curve.png"), logs.steps.entries, logs.vals.entries, stepsPerEpoch);
    files.lossCurve = join(out, "loss_curve.png");
    lastSaved = step;
  };

  const progress = new Progress("train", totalSteps - startStep, { unit: "steps", ...options.progress });
  const losses: TrainResult["losses"] = [];
  let peak: PoolStats | undefined;
  let stepMsTotal = 0;
  let stopped: TrainResult["stopped"] = totalSteps < o.epochs * stepsPerEpoch ? "max-steps" : "finished";
  let step = startStep;
  try {
    await writeTextFileAtomic(
      join(out, "train.settings.json"),
      JSON.stringify(
        {
          ...identity,
          ...o,
          // What --resume needs to reopen the starting checkpoint from this file alone.
          weights: resolve(options.weights),
          configFile: options.configFile ? resolve(options.configFile) : null,
          totalSteps,
          stepsPerEpoch,
          valSource: frames.valSource,
        },
        null,
        2,
      ) + "\n",
    );
    epochs: while (step < totalSteps) {
      const epoch = Math.floor(step / stepsPerEpoch);
      const first = step - epoch * stepsPerEpoch;
      const epochEnd = Math.min((epoch + 1) * stepsPerEpoch, totalSteps);
      const order = epochOrder(frames.train, o.seed, epoch).slice(
        first * o.batch,
        (epochEnd - epoch * stepsPerEpoch) * o.batch,
      );
      const batches = batchesOf(loader.items("train", order, epoch), o.batch);
      for await (const batch of batches) {
        if (options.signal?.aborted) {
          stopped = "interrupted";
          break epochs;
        }
        for (const f of batch.failures) log(`step ${step}: skipped ${f.rgb}: ${f.error}`);
        await rejects.train(step, batch.items.length, batch.failures, frames.train.length);
        const record = await trainStep(batch.items, step, epoch);
        step += 1;
        if (!Number.isFinite(record.loss)) skipped += 1;
        losses.push({ step: record.step, loss: record.loss });
        await logs.steps.append(record);
        progress.status = `loss ${Number.isFinite(record.loss) ? record.loss.toFixed(4) : "skipped"}`;
        progress.tick();
        await options.onStep?.(record);
        const atEpochEnd = step % stepsPerEpoch === 0;
        const atVal = o.valEvery !== undefined && step % o.valEvery === 0;
        if (atEpochEnd || atVal || step === totalSteps) await validateAndSave(step, true);
      }
    }
    if (stopped !== "interrupted") rejects.finish();
    if (stopped === "interrupted" && lastSaved !== step) await validateAndSave(step, false);
  } finally {
    loader.close();
    progress.status = "";
    log(progress.finish());
    stepper.dispose();
    freeWeights(rt, weights);
  }

  async function trainStep(items: LoadedItem[], index: number, epoch: number): Promise<StepRecord> {
    // A skipped step updated nothing, so it does not move the schedule either.
    const lr = polyLr(o.lr, index - skipped, totalSteps);
    if (items.length === 0) return { step: index, epoch, loss: NaN, lr, ms: 0, peakBytes: 0, pixels: 0 };
    const outcome = await stepper.step(stackBatch(items, o.imgSize), lr, range);
    if (outcome.pixels > 0 && !outcome.applied) {
      const kept = lastSaved > startStep || resumed
        ? `the last good checkpoint (step ${lastSaved}) stays in ${out}`
        : "no checkpoint had been saved yet";
      throw new TrompeError(
        "bad-argument",
        `non-finite loss (${outcome.loss}) at step ${index}: training stopped before that step changed the weights; ${kept}`,
        { subject: "--lr", hint: `lower the learning rate (now ${o.lr}), then --resume or start again` },
      );
    }
    stepMsTotal += outcome.ms;
    if (!peak || outcome.stats.peakBytes > peak.peakBytes) peak = outcome.stats;
    return {
      step: index,
      epoch,
      // A batch without one usable pixel has no loss (the official loss is NaN there) and updates nothing.
      loss: outcome.applied ? outcome.loss : NaN,
      lr,
      ms: outcome.ms,
      peakBytes: outcome.stats.peakBytes,
      pixels: outcome.pixels,
    };
  }

  const validations = logs.vals.entries.slice();
  const taken = step - startStep;
  const result: TrainResult = {
    out,
    steps: step,
    totalSteps,
    stepsPerEpoch,
    stopped,
    losses,
    validations,
    best,
    peak: peak ?? rt.pool.stats(),
    meanStepMs: taken > 0 ? stepMsTotal / taken : NaN,
    files,
    notes,
    failed: rejects.count,
  };
  if (peak) log(`step memory: ${describePeak(peak)}`);
  files.record = await writeRunRecord(out, {
    task: "train",
    inputs: {
      weights: resolve(options.weights),
      dataset: options.dataset,
      root,
      split,
      valSplit: valSplit ?? null,
    },
    settings: {
      ...identity,
      epochs: o.epochs,
      lr: o.lr,
      checkpoint: o.checkpoint,
      maxSteps: o.maxSteps ?? null,
      valEvery: o.valEvery ?? null,
      workers: o.workers,
      resumedFrom: resumed ? startStep : null,
      trainFrames: frames.train.length,
      valFrames: frames.val.length,
      valSource: frames.valSource,
      notes,
    },
    results: {
      steps: step,
      totalSteps,
      stopped,
      best,
      lastValidation: validations.at(-1) ?? null,
      peakBytes: result.peak.peakBytes,
      peakBreakdown: result.peak.peakBreakdown,
      files,
    },
    timings: { seconds: (performance.now() - started) / 1000, meanStepMs: result.meanStepMs },
    failures: rejects.count,
  });
  return result;
}

/** Groups the loader's items into batches of `size`; a frame that failed to load leaves its batch short. */
async function* batchesOf(
  items: AsyncGenerator<{ ref: FrameRef; item?: LoadedItem; error?: string }>,
  size: number,
): AsyncGenerator<Batch> {
  let batch: Batch = { items: [], failures: [] };
  let count = 0;
  for await (const { ref, item, error } of items) {
    if (item) batch.items.push(item);
    else batch.failures.push({ rgb: ref.rgb, error: error! });
    if (++count === size) {
      yield batch;
      batch = { items: [], failures: [] };
      count = 0;
    }
  }
}
