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
 * order and crops. A non-finite loss stops the run before that step touches the weights, and nothing is
 * saved over the last good checkpoint.
 */
import { join, resolve } from "node:path";
import { Progress, type ProgressOptions } from "../cli/progress.ts";
import { writeRunRecord } from "../cli/record.ts";
import type { DatasetName } from "../data/sample.ts";
import { EVAL_RANGE } from "../eval/run.ts";
import type { DepthRange } from "../eval/metrics.ts";
import { describePeak, type PoolStats } from "../gpu/pool.ts";
import { Runtime } from "../gpu/runtime.ts";
import { TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { loadCheckpoint, type Provenance, type StateDict } from "../nn/model/checkpoint.ts";
import { type HeadKind, type ModelConfig, type PresetName, PRESETS } from "../nn/model/config.ts";
import { freeWeights, type GpuWeights, uploadWeights } from "../nn/model/weights.ts";
import type { CheckpointPolicy } from "./checkpointing.ts";
import { epochOrder, type FrameRef, listTrainVal, type LoadedItem, SampleLoader } from "./data_loader.ts";
import { describeFreeze, type FreezePolicy, isTrainable, parseFreeze } from "./freeze.ts";
import { polyLr } from "./schedule.ts";
import { type StepBatch, TrainStepper } from "./train_step.ts";
import { type StepRecord, trainLogs, type ValRecord, writeLossCurve } from "./train_log.ts";
import {
  type BestSoFar,
  exportCheckpoint,
  identityChanges,
  loadTrainState,
  readWeights,
  restoreMoments,
  type RunIdentity,
  saveTrainState,
  STATE_FILE,
} from "./train_state.ts";
import { validate } from "./validate.ts";

/** The seed study's settings (metric_depth/train.py defaults): what `deno task train` runs without flags. */
export const TRAIN_DEFAULTS = {
  epochs: 48,
  lr: 5e-6,
  batch: 1,
  imgSize: 518,
  seed: 0,
  workers: 2,
  checkpoint: "blocks" as CheckpointPolicy,
} as const;

export const MIN_DEPTH = 0.001;

export interface TrainOptions {
  /** Starting checkpoint (.safetensors or .pth), read as `deno task predict` reads it. */
  weights: string;
  dataset: DatasetName;
  root: string;
  /** Split file of training frames ('<rgb> <depth>' lines, relative paths from `root`). */
  split: string;
  /** Validation frames; without it, 20 % of `split` chosen by a hash of (seed, frame). */
  valSplit?: string;
  /** The run directory (checkpoints, logs, loss curve, run record). */
  out: string;
  /** Official size the weights must be (checked against them). */
  encoder?: PresetName;
  configFile?: string;
  head?: HeadKind;
  maxDepth?: number;
  epochs?: number;
  /** Encoder learning rate; the decoder trains at 10×. */
  lr?: number;
  batch?: number;
  /** Training crop (a multiple of 14); validation uses the same as its input size. */
  imgSize?: number;
  freeze?: FreezePolicy;
  checkpoint?: CheckpointPolicy;
  seed?: number;
  /** Stop after this many steps in all; the poly schedule then decays over them. */
  maxSteps?: number;
  /** Validate (and save) every N steps as well as every epoch. */
  valEvery?: number;
  /** Continue the run in `out` from its train_state.safetensors. */
  resume?: boolean;
  workers?: number;
  /** The run stops at the next step boundary, saving its resume point first (Ctrl-C). */
  signal?: AbortSignal;
  /** Called after every step (tests and the demo watch progress through it). */
  onStep?: (record: StepRecord) => void | Promise<void>;
  /** Where messages go (notes, validations); default: nowhere. */
  log?: (line: string) => void;
  progress?: ProgressOptions;
  /** A GPU runtime to use (default: a new one on the process's adapter). */
  runtime?: Runtime;
}

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
}

interface Batch {
  items: LoadedItem[];
  failures: { rgb: string; error: string }[];
}

/** The loss range: the model's max depth for a metric head (as train.py's one --max-depth), else the dataset's. */
function lossRange(config: ModelConfig, dataset: DatasetName): Required<DepthRange> {
  return { minDepth: MIN_DEPTH, maxDepth: config.maxDepth ?? EVAL_RANGE[dataset].maxDepth };
}

function checkOptions(o: TrainOptions) {
  const positive = (value: number | undefined, flag: string, fallback: number, integer = true) => {
    const v = value ?? fallback;
    if (!(v > 0) || (integer && !Number.isInteger(v)) || !Number.isFinite(v)) {
      throw new TrompeError(
        "bad-argument",
        `must be a positive ${integer ? "integer" : "number"}, got ${v}`,
        {
          subject: flag,
        },
      );
    }
    return v;
  };
  const imgSize = positive(o.imgSize, "--img-size", TRAIN_DEFAULTS.imgSize);
  if (imgSize % 14 !== 0) {
    throw new TrompeError("bad-argument", `${imgSize} is not a multiple of the patch size 14`, {
      subject: "--img-size",
      hint: "e.g. 518, 98 or 70",
    });
  }
  return {
    epochs: positive(o.epochs, "--epochs", TRAIN_DEFAULTS.epochs),
    lr: positive(o.lr, "--lr", TRAIN_DEFAULTS.lr, false),
    batch: positive(o.batch, "--batch", TRAIN_DEFAULTS.batch),
    imgSize,
    seed: o.seed ?? TRAIN_DEFAULTS.seed,
    workers: positive(o.workers, "--workers", TRAIN_DEFAULTS.workers),
    maxSteps: o.maxSteps === undefined ? undefined : positive(o.maxSteps, "--max-steps", 1),
    valEvery: o.valEvery === undefined ? undefined : positive(o.valEvery, "--val-every", 1),
    freeze: o.freeze ?? { kind: "none" as const },
    checkpoint: o.checkpoint ?? TRAIN_DEFAULTS.checkpoint,
  };
}

function checkEncoder(config: ModelConfig, encoder: PresetName | undefined, weights: string): void {
  if (!encoder) return;
  const preset = PRESETS[encoder];
  if (preset.embedDim !== config.embedDim || preset.depth !== config.depth) {
    throw new TrompeError(
      "bad-argument",
      `--encoder ${encoder} (embed ${preset.embedDim}, depth ${preset.depth}) does not match the weights ` +
        `(embed ${config.embedDim}, depth ${config.depth})`,
      { subject: weights, hint: "drop --encoder (the size is read from the weights) or pick the right file" },
    );
  }
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

export async function runTraining(options: TrainOptions): Promise<TrainResult> {
  const started = performance.now();
  const o = checkOptions(options);
  const log = options.log ?? (() => {});
  const out = resolve(options.out);
  const root = resolve(options.root);
  const split = resolve(options.split);
  const valSplit = options.valSplit && resolve(options.valSplit);
  await Deno.mkdir(out, { recursive: true });
  const statePath = join(out, STATE_FILE);
  const notes: string[] = [];
  const files: Record<string, string> = { state: statePath };

  // The run directory is checked first: a wrong --resume (or a missing one) costs no loading.
  const hasState = await Deno.stat(statePath).then(() => true, () => false);
  if (hasState && !options.resume) {
    throw new TrompeError("bad-argument", "the run directory already holds a run", {
      subject: out,
      hint: "pass --resume to continue it, or choose another --out",
    });
  }
  if (!hasState && options.resume) {
    throw new TrompeError("not-found", `nothing to resume: no ${STATE_FILE} here`, {
      subject: out,
      hint: "drop --resume to start a run, or point --out at the run to continue",
    });
  }
  const loaded = await loadCheckpoint(resolve(options.weights), {
    configFile: options.configFile && resolve(options.configFile),
    head: options.head,
    maxDepth: options.maxDepth,
  });
  const config = loaded.config;
  checkEncoder(config, options.encoder, options.weights);
  // A block range can only be checked against the model once its depth is known.
  parseFreeze(describeFreeze(o.freeze), config.depth);
  notes.push(...loaded.notes);
  const frames = await listTrainVal(options.dataset, root, split, valSplit, o.seed);
  if (frames.val.length === 0) {
    throw new TrompeError("bad-argument", "no frames are left for validation", {
      subject: split,
      hint: "give --val-split FILE, or a split with at least a few frames",
    });
  }
  const stepsPerEpoch = Math.floor(frames.train.length / o.batch);
  if (stepsPerEpoch === 0) {
    throw new TrompeError(
      "bad-argument",
      `${frames.train.length} training frames make no batch of ${o.batch} (the last partial batch is dropped, as train.py does)`,
      { subject: "--batch" },
    );
  }
  const totalSteps = Math.min(o.epochs * stepsPerEpoch, o.maxSteps ?? Infinity);
  const identity: RunIdentity = {
    dataset: options.dataset,
    root,
    split,
    valSplit: valSplit ?? null,
    seed: o.seed,
    batch: o.batch,
    imgSize: o.imgSize,
    freeze: describeFreeze(o.freeze),
    config,
  };

  let stateDict: StateDict = loaded.stateDict;
  let startStep = 0;
  let best: BestSoFar | null = null;
  let resumed: Awaited<ReturnType<typeof loadTrainState>> | undefined;
  if (options.resume) {
    resumed = await loadTrainState(statePath);
    const changes = identityChanges(resumed.info.identity, identity);
    if (changes.length > 0) {
      throw new TrompeError("bad-argument", `--resume with other settings: ${changes.join("; ")}`, {
        subject: statePath,
        hint: "resume with the settings of the run, or start a new run in another --out",
      });
    }
    stateDict = resumed.stateDict;
    startStep = resumed.info.step;
    best = resumed.info.best;
    files.latestSafetensors = join(out, "latest.safetensors");
    files.latestPth = join(out, "latest.pth");
    if (best) {
      files.bestSafetensors = join(out, "best.safetensors");
      files.bestPth = join(out, "best.pth");
    }
    notes.push(`resumed from step ${startStep} (${statePath})`);
  }
  const logs = trainLogs(out);
  // A step record carries the step's 0-based index, a validation the number of steps taken before it.
  await logs.steps.resumeWith((r) => r.step < startStep);
  await logs.vals.resumeWith((r) => r.step <= startStep);

  const rt = options.runtime ?? await Runtime.create();
  const weights: GpuWeights = uploadWeights(rt, stateDict);
  const trainable = (key: string) => isTrainable(key, o.freeze);
  const stepper = new TrainStepper(rt, config, weights, { checkpoint: o.checkpoint, trainable });
  const adam = stepper.adam;
  if (resumed) restoreMoments(rt, adam, weights, resumed.moments);
  const range = lossRange(config, options.dataset);
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

  /** Validation, checkpoints, then the resume point (the file that commits the save). */
  const validateAndSave = async (step: number, runValidation: boolean) => {
    const current = await readWeights(rt, config, weights);
    if (runValidation) {
      const val = await validate(rt, config, weights, loader, frames.val, range);
      const absRel = val.metrics?.abs_rel;
      const improved = absRel !== undefined && (best === null || absRel < best.absRel);
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
      log(
        `step ${step}: val abs_rel ${absRel?.toFixed(4) ?? "n/a"}, d1 ${
          val.metrics?.d1.toFixed(4) ?? "n/a"
        } ` +
          `over ${val.images} images${improved ? " (best)" : ""}`,
      );
    }
    const latest = await exportCheckpoint(out, "latest", config, current, provenance(step));
    files.latestSafetensors = latest.safetensors;
    files.latestPth = latest.pth;
    await saveTrainState(statePath, rt, current, adam, { step, stepsPerEpoch, best, identity });
    await writeLossCurve(join(out, "loss_curve.png"), logs.steps.entries);
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
      JSON.stringify({ ...identity, ...o, totalSteps, stepsPerEpoch, valSource: frames.valSource }, null, 2) +
        "\n",
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
        const record = await trainStep(batch.items, step, epoch);
        step += 1;
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
    if (stopped === "interrupted" && lastSaved !== step) await validateAndSave(step, false);
  } finally {
    loader.close();
    progress.status = "";
    log(progress.finish());
    stepper.dispose();
    freeWeights(rt, weights);
  }

  async function trainStep(items: LoadedItem[], index: number, epoch: number): Promise<StepRecord> {
    const lr = polyLr(o.lr, index, totalSteps);
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
