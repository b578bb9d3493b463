/**
 * The flags that choose the models a task runs: checkpoints on the WGSL model, or ONNX exports with
 * `--engine onnx`, with what every such task needs to open them — repeatable for the tasks that compare models
 * (eval, probe), one for predict. Declared and checked here once, so the tasks agree on their names, defaults
 * and errors.
 */
import { basename, dirname, resolve } from "node:path";
import type { ModelSource } from "../nn/open_estimator.ts";
import {
  badFlag,
  choiceFlag,
  intFlag,
  MODEL_FLAGS,
  type ModelFlags,
  modelFlags,
  requireFlag,
} from "./flags.ts";

/** One model: a checkpoint (--weights) or, with --engine onnx, an ONNX file (--model). */
export const MODEL_SOURCE_FLAG = {
  weights: { type: "string" },
  engine: { type: "string" },
  model: { type: "string" },
  "input-size": { type: "string" },
  threads: { type: "string" },
  ...MODEL_FLAGS,
} as const;

/** Models to compare: --weights or --model repeated. */
export const MODEL_SOURCE_FLAGS = {
  ...MODEL_SOURCE_FLAG,
  weights: { type: "string", multiple: true },
  model: { type: "string", multiple: true },
} as const;

interface ModelSourceValues<File> {
  weights?: File;
  engine?: string;
  model?: File;
  "input-size"?: string;
  threads?: string;
  config?: string;
  head?: string;
  "max-depth"?: string;
}

/**
 * MODEL_SOURCE_FLAG's values as openEstimator takes them: the chosen engine's file, required (the other
 * engine's flag is not read).
 */
export function modelSource(values: ModelSourceValues<string>): ModelSource {
  const engine = engineFlag(values.engine);
  const path = resolve(
    engine === "webgpu"
      ? requireFlag(values.weights, "--weights", "a .safetensors or .pth checkpoint")
      : requireFlag(values.model, "--model", "the .onnx file to run"),
  );
  return { engine, path, name: modelNames([path])[0], ...sizeAndThreads(values), ...modelFlags(values) };
}

function engineFlag(value: string | undefined): ModelSource["engine"] {
  return choiceFlag(value, "--engine", ["webgpu", "onnx"] as const, "webgpu");
}

function sizeAndThreads(values: ModelSourceValues<unknown>): { inputSize: number; threads: number } {
  return {
    inputSize: intFlag(values["input-size"], "--input-size", 518, 14),
    threads: intFlag(values.threads, "--threads", 1, 1),
  };
}

/** The models the flags name, checked, before names are given to them. */
export interface ModelChoice {
  readonly engine: ModelSource["engine"];
  /** --weights (webgpu) or --model (onnx) files, resolved. */
  readonly paths: readonly string[];
  readonly inputSize: number;
  readonly threads: number;
  readonly info: ModelFlags;
}

/** MODEL_SOURCE_FLAGS' values, checked: at least one model, and only the flag of the chosen engine. */
export function modelChoice(values: ModelSourceValues<string[]>): ModelChoice {
  const engine = engineFlag(values.engine);
  const [flag, other] = engine === "webgpu" ? ["--weights", "--model"] : ["--model", "--weights"];
  if ((engine === "webgpu" ? values.model : values.weights)?.length) {
    badFlag(
      other,
      `does not apply to --engine ${engine}`,
      engine === "webgpu" ? "add --engine onnx for ONNX models" : "use --model for ONNX files",
    );
  }
  const paths = (engine === "webgpu" ? values.weights : values.model)?.map((p) => resolve(p)) ?? [];
  if (paths.length === 0) {
    badFlag(
      flag,
      "is required",
      engine === "webgpu"
        ? "a checkpoint per model (repeat for more)"
        : "an .onnx file per model (repeat for more)",
    );
  }
  return { engine, paths, ...sizeAndThreads(values), info: modelFlags(values) };
}

/** The chosen models as openEstimator takes them, named `names[i]`. */
export function modelSources(choice: ModelChoice, names: readonly string[]): ModelSource[] {
  const { engine, inputSize, threads, info } = choice;
  return choice.paths.map((path, i) => ({ engine, path, name: names[i], inputSize, threads, ...info }));
}

/** Names from the files, made unique by their folder (two runs' "best.safetensors") or, failing that, a number. */
export function modelNames(paths: readonly string[]): string[] {
  const stem = (p: string) => basename(p).replace(/\.[^.]+$/, "");
  let names = paths.map(stem);
  if (new Set(names).size < names.length) names = paths.map((p) => `${basename(dirname(p))}/${stem(p)}`);
  if (new Set(names).size < names.length) names = names.map((n, i) => `${n}#${i + 1}`);
  return names;
}
