/**
 * `--out`, the folder a task writes into, for every task that writes one: required with what it is for, or
 * with a default. prepareOutDir (core/cli/out_dir.ts) then checks it before any work.
 */
import { resolve } from "node:path";
import { requireFlag } from "./flags.ts";

export const OUTPUT_FLAGS = { out: { type: "string" } } as const;

/** --out resolved: `required` is the hint when it is missing, or `{ fallback }` stands in for it. */
export function outFlag(value: string | undefined, required: string | { fallback: string }): string {
  return resolve(
    typeof required === "string" ? requireFlag(value, "--out", required) : value ?? required.fallback,
  );
}
