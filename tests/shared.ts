/**
 * Test helpers: where ../shared lives, test wrappers that skip (with one line saying why) when it is
 * absent, and the parity measure used everywhere (rel_l2 against a reference).
 *
 * `TROMPE_SHARED` points the tests at a copy of ../shared elsewhere (bench/gpu_check.sh uses one carried
 * under .device/). `TROMPE_REQUIRE_SHARED=1` (set by .ci/run when ../shared is beside the repo, and by
 * bench/gpu_check.sh) turns a skip into a failure: where ../shared should be, a missing reference must
 * not pass as a skipped test.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const SHARED_DIR = resolve(
  Deno.env.get("TROMPE_SHARED") ?? join(import.meta.dirname!, "../../shared"),
);
export const REFERENCE_DIR = join(SHARED_DIR, "reference");
export const FORMATS_DIR = join(SHARED_DIR, "formats");
/** Real dataset files (Hypersim's depth, its CSVs): optional even in CI, their tests skip on their own. */
export const DATA_DIR = join(SHARED_DIR, "data");
export const HAS_SHARED = existsSync(REFERENCE_DIR) && existsSync(FORMATS_DIR);
export const HAS_DATA = existsSync(DATA_DIR);
export const REQUIRE_SHARED = Deno.env.get("TROMPE_REQUIRE_SHARED") === "1";

const warned = new Set<string>();

/** Registers `fn`, or where `missing` names an absent folder, a skip (one line saying why) or a failure. */
function registerNeeding(
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
  missing: string | undefined,
  required: boolean,
): void {
  if (missing === undefined) {
    Deno.test(name, fn);
  } else if (required) {
    Deno.test(name, () => {
      throw new Error(`${missing} is absent, and TROMPE_REQUIRE_SHARED=1 says it must be there`);
    });
  } else {
    if (!warned.has(missing)) {
      warned.add(missing);
      console.log(`skipping tests on ${missing}: it is absent (CI has ../shared; a user's clone may not)`);
    }
    Deno.test({ name, ignore: true, fn });
  }
}

function missingShared(): string | undefined {
  if (!existsSync(REFERENCE_DIR)) return REFERENCE_DIR;
  if (!existsSync(FORMATS_DIR)) return FORMATS_DIR;
  return undefined;
}

/** A test that reads ../shared/reference or ../shared/formats: skipped where they are absent. */
export function sharedTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  registerNeeding(name, fn, missingShared(), REQUIRE_SHARED);
}

/**
 * A test that reads ../shared/data (and may read the rest of ../shared): skipped, with one line saying why,
 * where that folder alone is absent — even in CI, which is not promised real dataset files.
 */
export function sharedDataTest(name: string, fn: (t: Deno.TestContext) => void | Promise<void>): void {
  const shared = missingShared();
  if (shared !== undefined) registerNeeding(name, fn, shared, REQUIRE_SHARED);
  else registerNeeding(name, fn, HAS_DATA ? undefined : DATA_DIR, false);
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

/**
 * Asserts two float arrays hold the same bits, naming the first index where they differ: assert.deepEqual's
 * diff of two long arrays that differ takes more memory than a test has.
 */
export function assertSameBits(actual: Float32Array, expected: Float32Array, what = "values"): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  }
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const at = a.findIndex((v, i) => v !== b[i]);
  if (at >= 0) throw new Error(`${what}: element ${at} is ${actual[at]}, expected ${expected[at]}`);
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
