/** Flag values checked once, with errors that name the flag and say what it takes. */
import { resolve } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { TrompeError } from "../errors.ts";
import { ADAPTER_ENV, chooseAdapter } from "../gpu/device.ts";
import { DEFAULT_MAX_PIXELS, setMaxPixels } from "../io/pixel_limit.ts";
import { HEAD_KINDS, type HeadKind } from "../nn/model/config.ts";
import {
  OFFICIAL_VALUES,
  OFFICIAL_WITHOUT_EQUIVALENT,
  officialNamesFor,
  officialNamesHelp,
} from "./official_names.ts";

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
  // 1e22 is an integer to Number.isInteger, but no count or size trompe takes: refuse it in words.
  if (!Number.isSafeInteger(n)) badFlag(flag, `"${value}" is too large`);
  return n;
}

export function floatFlag(value: string | undefined, flag: string, fallback?: number): number | undefined {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) badFlag(flag, `"${value}" is not a number`);
  return n;
}

/** "MIN,MAX" → a depth range in metres, 0 ≤ MIN < MAX; undefined when the flag is absent. */
export function rangeFlag(
  value: string | undefined,
  flag: string,
): { minDepth: number; maxDepth: number } | undefined {
  if (value === undefined) return undefined;
  const parts = value.split(",").map((p) => Number(p.trim()));
  const [minDepth, maxDepth] = parts;
  if (parts.length !== 2 || !parts.every(Number.isFinite) || !(0 <= minDepth && minDepth < maxDepth)) {
    badFlag(flag, `"${value}" is not MIN,MAX with 0 ≤ MIN < MAX`, "metres, e.g. 0.001,20");
  }
  return { minDepth, maxDepth };
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

/** Flags that each take one string value (checked by the task: intFlag, floatFlag, choiceFlag, ...). */
export function stringFlags<const K extends string>(...names: K[]): StringFlags<K> {
  return Object.fromEntries(names.map((name) => [name, { type: "string" }])) as StringFlags<K>;
}

type StringFlags<K extends string> = { readonly [P in K]: { readonly type: "string" } };

/** What every task takes, added by parseFlags: --debug (stack traces, read by runTask) and --help. */
export const TASK_FLAGS = {
  debug: { type: "boolean", default: false },
  help: { type: "boolean", default: false },
} as const;

/** The flag that chooses among WebGPU adapters, for every task that computes on one. */
export const ADAPTER_FLAG = {
  adapter: { type: "string" },
} as const;

const ADAPTER_HELP = `

Device: every run prints the WebGPU adapter it computes on and records it in its run record.
  --adapter N          the N-th adapter WebGPU offers (deno task info lists them; also ${ADAPTER_ENV}=N)`;

/** A task's parse config with TASK_FLAGS added, as parseFlags parses it. */
export type TaskConfig<T extends ParseArgsConfig> =
  & Omit<T, "options">
  & { options: NonNullable<T["options"]> & typeof TASK_FLAGS };

/**
 * node:util's parseArgs, with what every task shares: --debug and --help (TASK_FLAGS) beside the task's own
 * flags, the official scripts' flag names as aliases, a "did you mean" for an unknown flag, a flag given twice
 * with two values refused, --adapter applied, --max-pixels applied unless --help is asked for
 * (core/cli/max_pixels_flag.ts), and --help printed (`help`, then the official names and the device section
 * that apply).
 */
export function parseFlags<T extends ParseArgsConfig>(
  task: string,
  taskConfig: T,
  help?: string,
): ReturnType<typeof parseArgs<TaskConfig<T>>> {
  const options = { ...taskConfig.options, ...TASK_FLAGS };
  const config = { ...taskConfig, options } as TaskConfig<T>;
  const { args, spelled } = withTrompeNames(config.args ?? Deno.args, options);
  const see = `see deno task ${task} --help`;
  refuseUnknown(args, config, see);
  let parsed: ReturnType<typeof parseArgs<TaskConfig<T>>>;
  try {
    // The same config with the renamed arguments: the result has the config's own shape.
    parsed = parseArgs({ ...config, args }) as ReturnType<typeof parseArgs<TaskConfig<T>>>;
  } catch (error) {
    // node:util's messages can run over lines ("--max-pixels -5": ambiguous, then how to write it): one line.
    throw new TrompeError("bad-argument", (error as Error).message.replaceAll("\n", " "), { hint: see });
  }
  refuseTwoValues(args, config, spelled);
  const values = parsed.values as Record<string, unknown>;
  for (const v of OFFICIAL_VALUES) {
    if (v.flag in options && values[v.flag] === v.official) values[v.flag] = v.trompe;
  }
  if ("adapter" in options && values.adapter !== undefined) {
    chooseAdapter(intFlag(values.adapter as string, "--adapter", 0));
  }
  if (help !== undefined && values.help) {
    console.log(help + officialNamesHelp(options) + ("adapter" in options ? ADAPTER_HELP : ""));
  } else if ("max-pixels" in options && values["max-pixels"] !== undefined) {
    setMaxPixels(intFlag(values["max-pixels"] as string, "--max-pixels", DEFAULT_MAX_PIXELS, 1));
  }
  return parsed;
}

/** The arguments with official flag names replaced by trompe's, and the official spelling at each index. */
function withTrompeNames(
  args: readonly string[],
  options: Readonly<Record<string, unknown>>,
): { args: string[]; spelled: Map<number, string> } {
  const names = new Map(officialNamesFor(options).map((n) => [n.official, n]));
  const spelled = new Map<number, string>();
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    const match = /^--([^=]+)(=.*)?$/.exec(arg);
    const name = match && names.get(match[1]);
    if (!name) {
      out.push(arg);
      continue;
    }
    spelled.set(i, `--${name.official}`);
    out.push(`--${name.trompe}${name.value !== undefined ? `=${name.value}` : match[2] ?? ""}`);
  }
  return { args: out, spelled };
}

/** An unknown flag, with the nearest known one or the official script's equivalent as the hint. */
function refuseUnknown(args: string[], config: ParseArgsConfig, see: string): void {
  const options = config.options ?? {};
  const { tokens } = parseArgs({ ...config, args, strict: false, tokens: true, allowPositionals: true });
  for (const token of tokens) {
    if (token.kind !== "option" || token.name in options) continue;
    const note = OFFICIAL_WITHOUT_EQUIVALENT[token.name];
    const near = nearest(token.name, Object.keys(options));
    throw new TrompeError("bad-argument", "unknown option", {
      subject: token.rawName,
      hint: note ?? (near ? `did you mean --${near}? ${see}` : see),
    });
  }
}

/**
 * A single-valued flag given under both its names (trompe's and the official one) with two values is
 * ambiguous; the same name twice keeps parseArgs' rule, the last one wins, so a command can be overridden.
 */
function refuseTwoValues(args: string[], config: ParseArgsConfig, spelled: Map<number, string>): void {
  const options = config.options ?? {};
  const { tokens } = parseArgs({ ...config, args, tokens: true });
  const seen = new Map<string, { spelling: string; value: string | undefined }>();
  for (const token of tokens) {
    if (token.kind !== "option" || options[token.name]?.multiple) continue;
    const spelling = spelled.get(token.index) ?? `--${token.name}`;
    const before = seen.get(token.name);
    if (before && before.spelling !== spelling && before.value !== token.value) {
      badFlag(
        `${before.spelling} / ${spelling}`,
        `given twice with different values ("${before.value}", "${token.value}")`,
        "give it once",
      );
    }
    seen.set(token.name, { spelling, value: token.value });
  }
}

/** The known flag closest to a mistyped one, when it is close enough to be what was meant. */
export function nearest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = row;
  }
  return previous[b.length];
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
