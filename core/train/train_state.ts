/**
 * What a training run leaves on disk to be resumed and used:
 *
 *   train_state.safetensors  the resume point, one file written atomically: every weight (`model/<key>`),
 *                            every AdamW moment (`adam/<key>.m`, `adam/<key>.v`) and, in the metadata, the
 *                            step, each parameter's AdamW step count, the best validation so far and the
 *                            settings the data order depends on. Weights and moments sit in one file so a
 *                            kill can never pair the weights of one step with the moments of another.
 *   latest / best            the model as `.safetensors` with trompe's metadata (config, head, max depth,
 *                            provenance) and as an official `.pth` (a plain state_dict with the official keys,
 *                            which `DepthAnythingV2.load_state_dict(strict=True)` takes as it is).
 *
 * No RNG state is stored: every random choice of a run (order, crops, flips) is a hash of (seed, frame,
 * epoch), so the step number and the seed are the whole of it.
 */
import { join } from "node:path";
import type { Runtime } from "../gpu/runtime.ts";
import { TrompeError } from "../errors.ts";
import { readSafetensors, type TensorToWrite, writeSafetensors } from "../io/safetensors.ts";
import { expectedShapes, type Provenance, saveCheckpoint, type StateDict } from "../nn/model/checkpoint.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import type { GpuWeights } from "../nn/model/weights.ts";
import type { AdamW } from "./adamw.ts";

export const STATE_FILE = "train_state.safetensors";
const STATE_KEY = "trompe.train_state";
const STATE_VERSION = 1;

/** The settings a resumed run must share with the run it continues for the continuation to be exact. */
export interface RunIdentity {
  dataset: string;
  root: string;
  split: string;
  valSplit: string | null;
  seed: number;
  batch: number;
  imgSize: number;
  freeze: string;
  /** The loss's lower end (absent in states saved before it was recorded). */
  minDepth?: number;
  config: ModelConfig;
}

export interface BestSoFar {
  absRel: number;
  step: number;
}

export interface TrainStateInfo {
  /** Optimizer steps taken (the next step's 0-based index). */
  step: number;
  /** Steps per epoch of this run's data (the epoch and position follow from `step`). */
  stepsPerEpoch: number;
  /** Each trainable parameter's own AdamW step count. */
  adamSteps: Record<string, number>;
  best: BestSoFar | null;
  identity: RunIdentity;
  /** The encoder learning rate the run was saved with (absent in states saved before it was recorded). */
  lr?: number;
  /** Steps that updated nothing and so did not advance the schedule (absent in older states: none). */
  skipped?: number;
}

/** The GPU weights as a state_dict, in the official key order. */
export async function readWeights(rt: Runtime, config: ModelConfig, weights: GpuWeights): Promise<StateDict> {
  const out: StateDict = new Map();
  for (const [key, shape] of expectedShapes(config)) {
    out.set(key, { shape, data: await rt.read(weights.get(key)) });
  }
  return out;
}

/** Each trained parameter's AdamW moments and step count, read back from the GPU. */
export async function readMoments(rt: Runtime, adam: AdamW): Promise<Moments> {
  const moments: Moments = new Map();
  for (const [key, slot] of adam.slots) {
    moments.set(key, { m: await rt.read(slot.m), v: await rt.read(slot.v), step: slot.step });
  }
  return moments;
}

export type Moments = Map<string, { m: Float32Array; v: Float32Array; step: number }>;

export async function saveTrainState(
  path: string,
  stateDict: StateDict,
  moments: Moments,
  info: Omit<TrainStateInfo, "adamSteps">,
): Promise<void> {
  const tensors: TensorToWrite[] = [];
  for (const [key, t] of stateDict) {
    tensors.push({ name: `model/${key}`, dtype: "F32", shape: t.shape, data: t.data });
  }
  const adamSteps: Record<string, number> = {};
  for (const [key, moment] of moments) {
    adamSteps[key] = moment.step;
    const shape = [...stateDict.get(key)!.shape];
    tensors.push({ name: `adam/${key}.m`, dtype: "F32", shape, data: moment.m });
    tensors.push({ name: `adam/${key}.v`, dtype: "F32", shape, data: moment.v });
  }
  const full: TrainStateInfo & { version: number } = { version: STATE_VERSION, ...info, adamSteps };
  await writeSafetensors(path, tensors, { [STATE_KEY]: JSON.stringify(full) });
}

export interface LoadedTrainState {
  info: TrainStateInfo;
  stateDict: StateDict;
  /** Per parameter: the moments and the step count. */
  moments: Moments;
}

export async function loadTrainState(path: string): Promise<LoadedTrainState> {
  const st = await readSafetensors(path);
  const json = st.metadata[STATE_KEY];
  if (json === undefined) {
    throw new TrompeError("corrupt", `not a trompe training state (no ${STATE_KEY} metadata)`, {
      subject: path,
    });
  }
  let parsed: TrainStateInfo & { version?: number };
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new TrompeError("corrupt", `${STATE_KEY} is not JSON`, { subject: path });
  }
  if (parsed.version !== STATE_VERSION) {
    throw new TrompeError(
      "unsupported",
      `training state version ${parsed.version}, expected ${STATE_VERSION}`,
      {
        subject: path,
      },
    );
  }
  const stateDict: StateDict = new Map();
  for (const name of st.names()) {
    if (name.startsWith("model/")) {
      stateDict.set(name.slice(6), { shape: [...st.shape(name)], data: st.float32(name) });
    }
  }
  const moments: Moments = new Map();
  for (const [key, step] of Object.entries(parsed.adamSteps)) {
    const m = `adam/${key}.m`, v = `adam/${key}.v`;
    if (!st.names().includes(m) || !st.names().includes(v)) {
      throw new TrompeError("corrupt", `the AdamW moments of ${key} are missing`, { subject: path });
    }
    moments.set(key, { m: st.float32(m), v: st.float32(v), step });
  }
  return { info: parsed, stateDict, moments };
}

/** Puts saved moments and step counts back into a fresh optimizer. */
export function restoreMoments(
  rt: Runtime,
  adam: AdamW,
  weights: GpuWeights,
  moments: LoadedTrainState["moments"],
): void {
  for (const [key, saved] of moments) {
    const slot = adam.slot(key, weights.get(key));
    rt.write(slot.m, saved.m);
    rt.write(slot.v, saved.v);
    slot.step = saved.step;
  }
}

/** Writes `<name>.safetensors` (with trompe's metadata) and `<name>.pth` (official) into `dir`. */
export async function exportCheckpoint(
  dir: string,
  name: string,
  config: ModelConfig,
  stateDict: StateDict,
  provenance: Provenance,
): Promise<{ safetensors: string; pth: string }> {
  const safetensors = join(dir, `${name}.safetensors`);
  const pth = join(dir, `${name}.pth`);
  await saveCheckpoint(safetensors, { config, stateDict, provenance });
  await saveCheckpoint(pth, { config, stateDict });
  return { safetensors, pth };
}

/** The settings that differ between a saved run and the one resuming it (empty: the resume is exact). */
export function identityChanges(saved: RunIdentity, now: RunIdentity): string[] {
  const changes: string[] = [];
  for (const key of Object.keys(now) as (keyof RunIdentity)[]) {
    // A setting an older state did not record cannot be compared: that state still resumes.
    if (!(key in saved)) continue;
    const a = JSON.stringify(saved[key]), b = JSON.stringify(now[key]);
    if (a !== b) changes.push(`${key} was ${a}, now ${b}`);
  }
  return changes;
}
