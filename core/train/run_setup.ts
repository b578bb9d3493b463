/**
 * Opening a training run: the run directory (a new run must not overwrite one, a resumed one must exist), the
 * starting weights, the train/val frames and step counts, and — with --resume — the saved state, checked
 * against this run's settings so a resume cannot silently change what is being trained.
 */
import { join, resolve } from "node:path";
import { TrompeError } from "../errors.ts";
import { loadCheckpoint, type StateDict } from "../nn/model/checkpoint.ts";
import { type ModelConfig, type PresetName, PRESETS } from "../nn/model/config.ts";
import { listTrainVal } from "./data_loader.ts";
import { describeFreeze, parseFreeze } from "./freeze.ts";
import type { CheckedTrainOptions, TrainOptions } from "./options.ts";
import {
  type BestSoFar,
  identityChanges,
  loadTrainState,
  type RunIdentity,
  STATE_FILE,
} from "./train_state.ts";

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

export async function openRun(options: TrainOptions, o: CheckedTrainOptions) {
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
    minDepth: o.minDepth,
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
    // A new --lr is allowed (lowering it is the way on after a divergence) but said, never taken silently.
    const savedLr = resumed.info.lr;
    if (savedLr !== undefined && savedLr !== o.lr) {
      notes.push(`--lr ${o.lr} replaces the run's ${savedLr} from step ${startStep} on`);
    }
  }
  return {
    out,
    root,
    split,
    valSplit,
    statePath,
    notes,
    files,
    config,
    frames,
    stepsPerEpoch,
    totalSteps,
    identity,
    stateDict,
    startStep,
    best,
    resumed,
  };
}
