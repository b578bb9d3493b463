/**
 * The flags that choose the models a task compares (eval, probe): checkpoints on the WGSL model, or ONNX
 * exports with `--engine onnx`, each repeatable, with what every such task needs to open them. Declared and
 * checked here once, so the tasks agree on their names, defaults and errors.
 */
import { basename, dirname, resolve } from "node:path";
import type { ModelSource } from "../nn/open_estimator.ts";
import { badFlag, choiceFlag, intFlag, MODEL_FLAGS, type ModelFlags, modelFlags } from "./flags.ts";

export const MODEL_SOURCE_FLAGS = {
  weights: { type: "string", multiple: true },
  engine: { type: "string" },
  model: { type: "string", multiple: true },
  "input-size": { type: "string" },
  threads: { type: "string" },
  ...MODEL_FLAGS,
} as const;

interface ModelSourceValues {
  weights?: string[];
  engine?: string;
  model?: string[];
  "input-size"?: string;
  threads?: string;
  config?: string;
  head?: string;
  "max-depth"?: string;
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
export function modelChoice(values: ModelSourceValues): ModelChoice {
  const engine = choiceFlag(values.engine, "--engine", ["webgpu", "onnx"] as const, "webgpu");
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
  return {
    engine,
    paths,
    inputSize: intFlag(values["input-size"], "--input-size", 518, 14),
    threads: intFlag(values.threads, "--threads", 1, 1),
    info: modelFlags(values),
  };
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
