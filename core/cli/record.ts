/**
 * The JSON record every writing run leaves beside its outputs: what it read, how it was set, which trompe,
 * on which adapter, how long it took and what failed.
 */
import { join } from "node:path";
import { acquiredAdapter } from "../gpu/device.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { TROMPE_VERSION } from "../version.ts";

export interface RunRecord {
  task: string;
  inputs: Record<string, unknown>;
  settings: Record<string, unknown>;
  results?: Record<string, unknown>;
  timings?: Record<string, number>;
  failures?: number;
}

export async function writeRunRecord(outDir: string, record: RunRecord): Promise<string> {
  const path = join(outDir, `${record.task}.run.json`);
  const full = {
    ...record,
    trompe: TROMPE_VERSION,
    deno: Deno.version.deno,
    // The device the run computed on; absent when it did no GPU work.
    ...(acquiredAdapter() ? { adapter: acquiredAdapter() } : {}),
    finishedAt: new Date().toISOString(),
  };
  await writeTextFileAtomic(path, JSON.stringify(full, null, 2) + "\n");
  return path;
}
