/** Flag values checked once, with errors that name the flag and say what it takes. */
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TrompeError } from "../errors.ts";
import { HEAD_KINDS, type HeadKind } from "../nn/model/config.ts";

export function badFlag(flag: string, message: string, hint?: string): never {
  throw new TrompeError("bad-argument", message, { subject: flag, hint });
}

export function requireFlag<T>(value: T | undefined, flag: string, hint?: string): T {
  if (value === undefined || value === "") badFlag(flag, "is required", hint);
  return value;
}

export function intFlag(value: string | undefined, flag: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) badFlag(flag, `"${value}" is not an integer ≥ ${min}`);
  return n;
}

export function floatFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) badFlag(flag, `"${value}" is not a number`);
  return n;
}

export function choiceFlag<T extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly T[],
  fallback?: T,
): T {
  if (value === undefined) {
    if (fallback === undefined) badFlag(flag, "is required", `one of ${choices.join(", ")}`);
    return fallback;
  }
  if (!(choices as readonly string[]).includes(value)) {
    badFlag(flag, `"${value}" is not one of ${choices.join(", ")}`);
  }
  return value as T;
}

/** "a,b,c" → ["a","b","c"], each checked against `choices`. */
export function listFlag<T extends string>(
  value: string | undefined,
  flag: string,
  choices: readonly T[],
  fallback: readonly T[],
): T[] {
  if (value === undefined) return [...fallback];
  return value.split(",").map((v) => choiceFlag(v.trim(), flag, choices));
}

/** node:util's parseArgs, its complaints (unknown flag, missing value) turned into bad-argument errors. */
export function parseFlags<T extends ParseArgsConfig>(
  task: string,
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new TrompeError("bad-argument", (error as Error).message, { hint: `see deno task ${task} --help` });
  }
}

/** The flags that say what a checkpoint is when it does not record it (predict, eval, probe, train, demo). */
export const MODEL_FLAGS = {
  config: { type: "string" },
  head: { type: "string" },
  "max-depth": { type: "string" },
} as const;

export interface ModelFlags {
  /** --config, resolved against the working directory. */
  readonly configFile?: string;
  readonly head?: HeadKind;
  readonly maxDepth?: number;
}

/** MODEL_FLAGS' values, checked. */
export function modelFlags(
  values: { config?: string; head?: string; "max-depth"?: string },
): ModelFlags {
  return {
    configFile: values.config === undefined ? undefined : resolve(values.config),
    head: values.head === undefined ? undefined : choiceFlag(values.head, "--head", HEAD_KINDS),
    maxDepth: floatFlag(values["max-depth"], "--max-depth"),
  };
}
