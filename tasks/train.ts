/**
 * `deno task train`: fine-tunes Depth Anything V2 on a Hypersim or vKITTI2 split on WebGPU (core/train).
 */
import { join, resolve } from "node:path";
import {
  ADAPTER_FLAG,
  badFlag,
  choiceFlag,
  floatFlag,
  intFlag,
  MODEL_FLAGS,
  modelFlags,
  parseFlags,
  requireFlag,
} from "../core/cli/flags.ts";
import { runTask } from "../core/cli/main.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { formatBytes } from "../core/gpu/pool.ts";
import { TrompeError } from "../core/errors.ts";
import { type PresetName, PRESETS, readConfigFile } from "../core/nn/model/config.ts";
import { saveInitialCheckpoint } from "../core/nn/model/init_weights.ts";
import { isFile } from "../core/data/scan.ts";
import { parseCheckpoint } from "../core/train/checkpointing.ts";
import { parseFreeze } from "../core/train/freeze.ts";
import { TRAIN_DEFAULTS } from "../core/train/options.ts";
import { runTraining } from "../core/train/trainer.ts";

const HELP =
  `deno task train --weights FILE --dataset hypersim|vkitti2 --root DIR --split FILE --out DIR [options]

Fine-tunes Depth Anything V2 as metric_depth/train.py does — the official train transform (lower-bound resize,
random crop, horizontal flip, seeded per frame), SiLog (λ 0.5) over valid & 0.001 ≤ d ≤ max depth, AdamW
(β 0.9/0.999, weight decay 0.01; encoder at --lr, decoder at 10×) with the poly schedule — on WebGPU, each
parameter's AdamW step applied inside the backward so whole-model gradients never exist.

  --weights FILE     starting checkpoint (.safetensors, or an official .pth with --head/--max-depth)
  --init             start from the official initialisation of --config's model instead (seeded by --seed;
                     written to OUT/init.safetensors, reused by --resume)
  --dataset NAME     hypersim | vkitti2
  --root DIR         the dataset's (or augmented set's) root; split paths resolve against it
  --split FILE       training frames ('<rgb> <depth>' per line)
  --val-split FILE   validation frames (default: 20 % of --split, chosen by --seed)
  --out DIR          the run directory
  --encoder NAME     vits | vitb | vitl: checked against the weights (the size is read from them)
  --config FILE      model config JSON for custom sizes (as for predict)
  --head KIND        metric | relative, for checkpoints that do not record it
  --max-depth M      the metric head's max depth (20 Hypersim, 80 vKITTI); also the loss and eval range
  --epochs N         default ${TRAIN_DEFAULTS.epochs}
  --lr X             encoder learning rate (default ${TRAIN_DEFAULTS.lr}; the decoder's is 10×)
  --batch N          images a step (also --bs, train.py's name; default ${TRAIN_DEFAULTS.batch}): the loss is
                     SiLog over every usable pixel of the batch pooled, as util/loss.py computes it
  --img-size N       training crop and validation input size, a multiple of 14 (default ${TRAIN_DEFAULTS.imgSize})
  --freeze P         none | encoder | decoder | blocks:A-B (default none): frozen parameters get no
                     gradients and no optimizer state
  --checkpoint P     none | blocks | all: activation checkpointing (default ${TRAIN_DEFAULTS.checkpoint})
  --seed N           data order, crops, flips and the 80/20 split (default ${TRAIN_DEFAULTS.seed})
  --max-steps N      stop after N steps in all (the schedule decays over them)
  --val-every N      validate and save every N steps as well as every epoch
  --resume           continue the run in --out exactly where its last save left it
  --workers N        data-loading workers (default ${TRAIN_DEFAULTS.workers})
  --debug            print stack traces
  --help             this text

Writes into --out: latest.{safetensors,pth} and best.{safetensors,pth} (best validation abs_rel; the .pth
files are plain official state_dicts), train_state.safetensors (the resume point), train.jsonl (step, loss,
lr, step ms, pool peak bytes), val.jsonl (official metrics per validation), loss_curve.png and
train.run.json. Ctrl-C saves the resume point and stops. Exit status: 0 done, 1 error, 2 bad argument (a
non-finite loss is reported as one: lower --lr), 130 interrupted (resume point saved).`;

/**
 * `--init`: the official initialisation of --config's model, seeded by --seed, written as OUT/init.safetensors
 * (kept when resuming) so the run can be repeated from its own folder.
 */
async function initialCheckpoint(
  values: { weights?: string; config?: string; seed?: string; resume?: boolean },
  out: string,
): Promise<string> {
  if (values.weights) badFlag("--init", "starts from a fresh model: give --weights or --init, not both");
  const configFile = requireFlag(values.config, "--config", "the model to initialise (JSON, as for predict)");
  const path = join(out, "init.safetensors");
  if (values.resume && await isFile(path)) return path;
  const config = await readConfigFile(configFile);
  await Deno.mkdir(out, { recursive: true });
  await saveInitialCheckpoint(path, config, intFlag(values.seed, "--seed", TRAIN_DEFAULTS.seed));
  return path;
}

const ENCODERS = Object.keys(PRESETS).filter((k) => k !== "vitg") as PresetName[];

async function main(): Promise<void> {
  const values = parseFlags("train", {
    args: Deno.args,
    options: {
      weights: { type: "string" },
      init: { type: "boolean", default: false },
      dataset: { type: "string" },
      root: { type: "string" },
      split: { type: "string" },
      "val-split": { type: "string" },
      out: { type: "string" },
      encoder: { type: "string" },
      ...MODEL_FLAGS,
      epochs: { type: "string" },
      lr: { type: "string" },
      batch: { type: "string" },
      "img-size": { type: "string" },
      freeze: { type: "string" },
      checkpoint: { type: "string" },
      seed: { type: "string" },
      "max-steps": { type: "string" },
      "val-every": { type: "string" },
      resume: { type: "boolean", default: false },
      workers: { type: "string" },
      debug: { type: "boolean", default: false },
      ...ADAPTER_FLAG,
      help: { type: "boolean", default: false },
    },
  }, HELP).values;
  if (values.help) return;
  const optionalInt = (value: string | undefined, flag: string) =>
    value === undefined ? undefined : intFlag(value, flag, 0, 1);
  const controller = new AbortController();
  const onInterrupt = () => {
    console.error("\ninterrupted: saving the resume point (Ctrl-C again to quit at once)");
    Deno.removeSignalListener("SIGINT", onInterrupt);
    controller.abort();
  };
  const weights = values.init
    ? undefined
    : resolve(requireFlag(values.weights, "--weights", "the checkpoint to start from (or --init)"));
  const out = await prepareOutDir(resolve(requireFlag(values.out, "--out", "the run directory")));
  const options = {
    weights: weights ?? await initialCheckpoint(values, out),
    dataset: choiceFlag(values.dataset, "--dataset", ["hypersim", "vkitti2"] as const),
    root: resolve(requireFlag(values.root, "--root", "the dataset's root folder")),
    split: resolve(requireFlag(values.split, "--split", "a split file of training frames")),
    valSplit: values["val-split"] && resolve(values["val-split"]),
    out,
    encoder: values.encoder === undefined ? undefined : choiceFlag(values.encoder, "--encoder", ENCODERS),
    ...modelFlags(values),
    epochs: intFlag(values.epochs, "--epochs", TRAIN_DEFAULTS.epochs, 1),
    lr: floatFlag(values.lr, "--lr", TRAIN_DEFAULTS.lr),
    batch: intFlag(values.batch, "--batch", TRAIN_DEFAULTS.batch, 1),
    imgSize: intFlag(values["img-size"], "--img-size", TRAIN_DEFAULTS.imgSize, 14),
    freeze: parseFreeze(values.freeze),
    checkpoint: parseCheckpoint(values.checkpoint),
    seed: intFlag(values.seed, "--seed", TRAIN_DEFAULTS.seed),
    maxSteps: optionalInt(values["max-steps"], "--max-steps"),
    valEvery: optionalInt(values["val-every"], "--val-every"),
    resume: values.resume,
    workers: intFlag(values.workers, "--workers", TRAIN_DEFAULTS.workers, 1),
    signal: controller.signal,
    log: (line: string) => console.log(line),
  };
  if (options.maxDepth !== undefined && !(options.maxDepth > 0)) {
    throw new TrompeError("bad-argument", `must be positive, got ${options.maxDepth}`, {
      subject: "--max-depth",
    });
  }
  console.log(
    `train: ${options.dataset} ${options.split} → ${options.out}` + (options.resume ? " (resuming)" : ""),
  );
  Deno.addSignalListener("SIGINT", onInterrupt);
  let result;
  try {
    result = await runTraining(options);
  } finally {
    if (!controller.signal.aborted) Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  for (const note of result.notes) console.log(`  ${note}`);
  const best = result.best
    ? `best abs_rel ${result.best.absRel.toFixed(4)} at step ${result.best.step}`
    : "no validation yet";
  console.log(
    `done: ${result.steps}/${result.totalSteps} steps (${result.stopped}), ${best}; ` +
      // No step ran when a resume found the run already at its end.
      (Number.isFinite(result.meanStepMs) ? `mean step ${result.meanStepMs.toFixed(0)} ms, ` : "") +
      `step peak ${formatBytes(result.peak.peakBytes)}\n` +
      `checkpoints: ${result.files.latestSafetensors ?? "none"}, ${
        result.files.bestSafetensors ?? "none"
      }\n` +
      `run record: ${result.files.record}`,
  );
  if (result.stopped === "interrupted") {
    console.log(`to continue: the same command with --resume`);
    // The shell's convention for a run ended by Ctrl-C.
    Deno.exitCode = 130;
  }
}

if (import.meta.main) await runTask(main);
