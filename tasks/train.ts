/**
 * `deno task train`: fine-tunes Depth Anything V2 on a Hypersim or vKITTI2 split on WebGPU (core/train).
 */
import { join, resolve } from "node:path";
import { DATASET_FLAGS, datasetChoice } from "../core/cli/dataset_flags.ts";
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
  stringFlags,
} from "../core/cli/flags.ts";
import { runTask } from "../core/cli/main.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { formatBytes } from "../core/gpu/pool.ts";
import { TrompeError } from "../core/errors.ts";
import { type PresetName, PRESETS } from "../core/nn/model/config.ts";
import { readConfigFile } from "../core/nn/model/config_file.ts";
import { saveInitialCheckpoint } from "../core/nn/model/init_weights.ts";
import { isFile } from "../core/data/scan.ts";
import { parseCheckpoint } from "../core/train/checkpointing.ts";
import { parseFreeze } from "../core/train/freeze.ts";
import { saveEncoderStart } from "../core/train/encoder_start.ts";
import { MIN_DEPTH, TRAIN_DEFAULTS } from "../core/train/options.ts";
import { readSavedSettings } from "../core/train/saved_settings.ts";
import { runTraining } from "../core/train/trainer.ts";
import { plural } from "../core/plural.ts";

const HELP =
  `deno task train --weights FILE --dataset hypersim|vkitti2 --root DIR --split FILE --out DIR [options]
deno task train --resume --out DIR     (continue a run: its settings are read from DIR/train.settings.json)

Fine-tunes Depth Anything V2 as metric_depth/train.py does — the official train transform (lower-bound resize,
random crop, horizontal flip, seeded per frame), SiLog (λ 0.5) over valid & 0.001 ≤ d ≤ max depth, AdamW
(β 0.9/0.999, weight decay 0.01; encoder at --lr, decoder at 10×) with the poly schedule — on WebGPU, each
parameter's AdamW step applied inside the backward so whole-model gradients never exist. The defaults are
the seed study's, not train.py's, where they differ: 48 epochs at batch 1 (train.py: --epochs 40, --bs 2);
lr 5e-6, crop 518 and min depth 0.001 are train.py's. Before the first step the run prints its settings,
total steps, device and the planned memory of one step.

  --weights FILE     starting checkpoint (.safetensors, or an official .pth with --head/--max-depth)
  --init             start from the official initialisation of --config's model instead (seeded by --seed;
                     written to OUT/init.safetensors, reused by --resume)
  --pretrained-from FILE  as train.py: the encoder (pretrained.* tensors) from FILE, the depth head at its
                     initialisation (seeded by --seed; --head metric by default, --max-depth required);
                     written to OUT/init.safetensors, reused by --resume
  --dataset NAME     hypersim | vkitti2
  --root DIR         the dataset's (or augmented set's) root; split paths resolve against it
  --split FILE       training frames ('<rgb> <depth>' per line)
  --val-split FILE   validation frames (default: 20 % of --split, chosen by --seed)
  --out DIR          the run directory
  --encoder NAME     vits | vitb | vitl: checked against the weights (the size is read from them)
  --config FILE      model config JSON for custom sizes (as for predict)
  --head KIND        metric | relative, for checkpoints that do not record it
  --max-depth M      the metric head's max depth (20 Hypersim, 80 vKITTI); also the loss and eval range
  --min-depth M      the loss and validation range's lower end (default ${MIN_DEPTH} m, as train.py)
  --epochs N         default ${TRAIN_DEFAULTS.epochs} (train.py's: 40)
  --lr X             encoder learning rate (default ${TRAIN_DEFAULTS.lr}; the decoder's is 10×)
  --batch N          images a step (default ${TRAIN_DEFAULTS.batch}; train.py's --bs, default 2): the loss is
                     SiLog over every usable pixel of the batch pooled, as util/loss.py computes it
  --img-size N       training crop and validation input size, a multiple of 14 (default ${TRAIN_DEFAULTS.imgSize})
  --freeze P         none | encoder | decoder | blocks:A-B (default none): frozen parameters get no
                     gradients and no optimizer state
  --checkpoint P     none | blocks | all: activation checkpointing (default ${TRAIN_DEFAULTS.checkpoint})
  --seed N           data order, crops, flips and the 80/20 split (default ${TRAIN_DEFAULTS.seed})
  --max-steps N      stop after N steps in all (the schedule decays over them)
  --val-every N      validate and save every N steps as well as every epoch
  --resume           continue the run in --out exactly where its last save left it; every setting not
                     given again is the run's own (OUT/train.settings.json), and those that define the run
                     must agree with it
  --workers N        data-loading workers (default ${TRAIN_DEFAULTS.workers})
${maxPixelsHelp(21)}
  --debug            print stack traces
  --help             this text

Writes into --out: latest.{safetensors,pth} and best.{safetensors,pth} (best validation abs_rel; the .pth
files are plain official state_dicts), train_state.safetensors (the resume point), train.jsonl (step, loss,
lr, step ms, pool peak bytes), val.jsonl (official metrics per validation), rejects.jsonl (frames that
failed to load), loss_curve.png and train.run.json. Ctrl-C saves the resume point and stops. Exit status:
0 done, 1 error (or a split with no loadable frame), 2 bad argument (a non-finite loss or diverged weights
are reported as one: lower --lr), 3 done but some frames failed (rejects.jsonl), 130 interrupted (resume
point saved).`;

/**
 * `--init`: the official initialisation of --config's model, seeded by --seed, written as OUT/init.safetensors
 * (kept when resuming) so the run can be repeated from its own folder.
 */
async function initialCheckpoint(values: Flags, out: string): Promise<string> {
  if (values.weights) badFlag("--init", "starts from a fresh model: give --weights or --init, not both");
  const configFile = requireFlag(values.config, "--config", "the model to initialise (JSON, as for predict)");
  const path = join(out, "init.safetensors");
  if (values.resume && await isFile(path)) return path;
  const config = await readConfigFile(configFile, modelFlags(values));
  await Deno.mkdir(out, { recursive: true });
  await saveInitialCheckpoint(path, config, intFlag(values.seed, "--seed", TRAIN_DEFAULTS.seed));
  return path;
}

/** `--pretrained-from`: train.py's encoder-only start, written as OUT/init.safetensors (kept on --resume). */
async function encoderStartCheckpoint(values: Flags, out: string): Promise<string> {
  const from = resolve(values["pretrained-from"]!);
  if (values.weights || values.init) {
    badFlag(
      "--pretrained-from",
      "is the starting checkpoint: give one of --weights, --init, --pretrained-from",
    );
  }
  const path = join(out, "init.safetensors");
  if (values.resume && await isFile(path)) return path;
  await Deno.mkdir(out, { recursive: true });
  const start = await saveEncoderStart(
    path,
    from,
    modelFlags(values),
    intFlag(values.seed, "--seed", TRAIN_DEFAULTS.seed),
  );
  console.log(
    `start: the encoder's ${start.copied} tensors from ${from}, ${start.initialised} head tensors ` +
      `initialised → ${path}`,
  );
  return path;
}

/**
 * `--resume`: every flag not given again is the run's own, from OUT/train.settings.json (flags that define
 * the run are then checked against its resume point, as when all are given).
 */
async function withSavedSettings(values: Flags): Promise<Flags> {
  const out = outFlag(values.out, "the run to continue");
  const saved = await readSavedSettings(out);
  // With every flag given again the run's own checks speak (openRun: no resume point here).
  if (!saved && values.dataset !== undefined) return values;
  if (!saved) {
    throw new TrompeError("not-found", "nothing to resume: no train.settings.json here", {
      subject: out,
      hint: "point --out at the run to continue, or give every flag of the run again",
    });
  }
  const startGiven = values.init || values["pretrained-from"] !== undefined || values.weights !== undefined;
  const text = (value: number | undefined) => value === undefined ? undefined : String(value);
  return {
    ...values,
    weights: startGiven ? values.weights : saved.weights,
    config: values.config ?? saved.configFile ?? undefined,
    head: values.head ?? saved.config.head,
    "max-depth": values["max-depth"] ?? text(saved.config.maxDepth ?? undefined),
    "min-depth": values["min-depth"] ?? text(saved.minDepth),
    dataset: values.dataset ?? saved.dataset,
    root: values.root ?? saved.root,
    split: values.split ?? saved.split,
    "val-split": values["val-split"] ?? saved.valSplit ?? undefined,
    epochs: values.epochs ?? text(saved.epochs),
    lr: values.lr ?? text(saved.lr),
    batch: values.batch ?? text(saved.batch),
    "img-size": values["img-size"] ?? text(saved.imgSize),
    freeze: values.freeze ?? saved.freeze,
    checkpoint: values.checkpoint ?? saved.checkpoint,
    seed: values.seed ?? text(saved.seed),
    "max-steps": values["max-steps"] ?? text(saved.maxSteps),
    "val-every": values["val-every"] ?? text(saved.valEvery),
    workers: values.workers ?? text(saved.workers),
  };
}

const FLAGS = {
  weights: { type: "string" },
  init: { type: "boolean", default: false },
  "pretrained-from": { type: "string" },
  ...DATASET_FLAGS,
  "val-split": { type: "string" },
  ...OUTPUT_FLAGS,
  encoder: { type: "string" },
  ...MODEL_FLAGS,
  ...stringFlags(
    "min-depth",
    "epochs",
    "lr",
    "batch",
    "img-size",
    "freeze",
    "checkpoint",
    "seed",
    "max-steps",
    "val-every",
  ),
  resume: { type: "boolean", default: false },
  workers: { type: "string" },
  ...MAX_PIXELS_FLAG,
  ...ADAPTER_FLAG,
} as const;

type Flags = ReturnType<typeof parseFlags<{ options: typeof FLAGS }>>["values"];

const ENCODERS = Object.keys(PRESETS).filter((k) => k !== "vitg") as PresetName[];

async function main(): Promise<void> {
  const parsed = parseFlags("train", { args: Deno.args, options: FLAGS }, HELP).values;
  if (parsed.help) return;
  const values = parsed.resume ? await withSavedSettings(parsed) : parsed;
  const optionalInt = (value: string | undefined, flag: string) =>
    value === undefined ? undefined : intFlag(value, flag, 0, 1);
  const controller = new AbortController();
  const onInterrupt = () => {
    console.error("\ninterrupted: saving the resume point (Ctrl-C again to quit at once)");
    Deno.removeSignalListener("SIGINT", onInterrupt);
    controller.abort();
  };
  const generated = values.init || values["pretrained-from"] !== undefined;
  const weights = generated ? undefined : resolve(
    requireFlag(values.weights, "--weights", "the checkpoint to start from (or --init, --pretrained-from)"),
  );
  const out = await prepareOutDir(outFlag(values.out, "the run directory"));
  const options = {
    weights: weights ??
      await (values.init ? initialCheckpoint(values, out) : encoderStartCheckpoint(values, out)),
    ...datasetChoice(values),
    split: resolve(requireFlag(values.split, "--split", "a split file of training frames")),
    valSplit: values["val-split"] && resolve(values["val-split"]),
    out,
    encoder: values.encoder === undefined ? undefined : choiceFlag(values.encoder, "--encoder", ENCODERS),
    ...modelFlags(values),
    minDepth: floatFlag(values["min-depth"], "--min-depth"),
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
  if (result.failed > 0) {
    console.log(`${plural(result.failed, "frame")} failed to load: see ${join(result.out, "rejects.jsonl")}`);
    Deno.exitCode = 3;
  }
  if (result.stopped === "interrupted") {
    console.log(`to continue: the same command with --resume`);
    // The shell's convention for a run ended by Ctrl-C.
    Deno.exitCode = 130;
  }
}

if (import.meta.main) await runTask(main);
