/**
 * What a training run takes: the options, the seed study's defaults for them, and their checking.
 */
import type { ProgressOptions } from "../cli/progress.ts";
import type { DatasetName } from "../data/datasets.ts";
import { TrompeError } from "../errors.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { HeadKind, PresetName } from "../nn/model/config.ts";
import type { CheckpointPolicy } from "./checkpointing.ts";
import type { FreezePolicy } from "./freeze.ts";
import type { StepRecord } from "./train_log.ts";

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

/** train.py's --min-depth default: the loss and validation ignore depths below it. */
export const MIN_DEPTH = 0.001;

/** A training run's settings, train.py's flags by their names; the defaults are TRAIN_DEFAULTS. */
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
  /** The loss and validation range's lower end in metres (train.py's --min-depth; default MIN_DEPTH). */
  minDepth?: number;
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

/** The options with their defaults filled in, each checked (errors name the flag). */
export function checkTrainOptions(o: TrainOptions) {
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
    minDepth: positive(o.minDepth, "--min-depth", MIN_DEPTH, false),
    seed: o.seed ?? TRAIN_DEFAULTS.seed,
    workers: positive(o.workers, "--workers", TRAIN_DEFAULTS.workers),
    maxSteps: o.maxSteps === undefined ? undefined : positive(o.maxSteps, "--max-steps", 1),
    valEvery: o.valEvery === undefined ? undefined : positive(o.valEvery, "--val-every", 1),
    freeze: o.freeze ?? { kind: "none" as const },
    checkpoint: o.checkpoint ?? TRAIN_DEFAULTS.checkpoint,
  };
}

export type CheckedTrainOptions = ReturnType<typeof checkTrainOptions>;
