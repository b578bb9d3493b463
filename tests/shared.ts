/**
 * Test helpers: where ../shared lives, a test wrapper that skips (with one line saying why) when it is
 * absent, and the parity measure used everywhere (rel_l2 against a reference).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const SHARED_DIR = resolve(import.meta.dirname!, "../../shared");
export const REFERENCE_DIR = join(SHARED_DIR, "reference");
export const FORMATS_DIR = join(SHARED_DIR, "formats");
export const DATA_DIR = join(SHARED_DIR, "data");
export const HAS_SHARED = existsSync(REFERENCE_DIR) && existsSync(FORMATS_DIR);

let warned = false;

/** A test that reads ../shared: skipped, with one line saying why, where ../shared is absent. */
export function sharedTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  if (!HAS_SHARED && !warned) {
    warned = true;
    console.log(`skipping tests on ../shared: ${SHARED_DIR} is absent (CI has it; a user's clone may not)`);
  }
  Deno.test({ name, ignore: !HAS_SHARED, fn });
}

/** ‖a − b‖₂ / ‖b‖₂ in float64. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return Math.sqrt(num) / Math.sqrt(den);
}

/** A deterministic pseudo-random float array in [-1, 1) (mulberry32), for kernel tests. */
export function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

export interface TaskRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs tasks/<task>.ts as `deno task` would (a fresh process, the project's deno.json), capturing its output. */
export async function runTaskFile(task: string, args: readonly string[]): Promise<TaskRun> {
  const file = resolve(import.meta.dirname!, `../tasks/${task}.ts`);
  const config = resolve(import.meta.dirname!, "../deno.json");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", config, file, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}
