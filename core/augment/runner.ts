/**
 * Dataset-scale augmentation: the frame list is sharded, completed frames are skipped on resume, the rest go
 * to a pool of Deno workers, one frame in flight per worker plus one queued (bounded memory, busy workers).
 * Failures become rejects and the run goes on. At the end the set-level files are rebuilt from the per-frame
 * records, so the set is byte-identical whatever the worker count, the sharding or the interruptions.
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import type { JobSettings, WorkerReply, WorkerRequest } from "./job.ts";
import {
  assemble,
  type Assembled,
  exists,
  recordPath,
  rejectPath,
  removeStaleTemporaries,
  STATE_DIR,
} from "./manifest.ts";
import type { FrameRef } from "../data/frame_paths.ts";
import { checkPool } from "./art_pool.ts";
import { holdSettings } from "./run_settings.ts";
import { planByScene, type SplitPlan } from "./split.ts";

/** How an augmentation run is carried out: workers, shard, resume, and progress callbacks. */
export interface RunOptions {
  readonly workers: number;
  /** 1-based shard i of n: frames whose index ≡ i − 1 (mod n). */
  readonly shard: readonly [number, number];
  readonly resume: boolean;
  /** Write into a non-empty folder that is not an augmented set (see run_settings.ts). */
  readonly force?: boolean;
  /** Process at most this many frames of the shard (after skipping completed ones). */
  readonly limit?: number;
  readonly version: string;
  /** Called once the frames to do are known (after skipping complete ones), then once per finished frame. */
  readonly onStart?: (total: number) => void;
  readonly onFrame?: (rejected: boolean) => void;
}

/** What an augmentation run did: frames done, rejected and skipped, and its speed. */
export interface RunSummary extends Assembled {
  readonly processed: number;
  readonly rejectedNow: number;
  readonly skipped: number;
  readonly staleRemoved: number;
  readonly elapsedS: number;
  readonly framesPerS: number;
}

const IN_FLIGHT = 2;

/**
 * Pastes mirrors and art into every frame of a dataset by a recipe, rewriting their ground truth as flat, in
 * worker processes; the same seed gives the same bytes (what `deno task augment` runs).
 *
 * @example
 * ```ts
 * import { listWithSplit, preset, runAugment, TROMPE_VERSION } from "@trompe/trompe";
 *
 * const root = "/data/hypersim";
 * const { frames, plan } = await listWithSplit("hypersim", root, { by: "scene" });
 * const summary = await runAugment(
 *   { dataset: "hypersim", root, out: "/data/hypersim-flat", recipe: preset("trompe"), seed: 1, frames, split: plan },
 *   { workers: 2, shard: [1, 1], resume: false, version: TROMPE_VERSION },
 * );
 * console.log(`${summary.completed} frames written, ${summary.rejected} rejected`);
 * ```
 */
export async function runAugment(given: JobSettings, opts: RunOptions): Promise<RunSummary> {
  const started = performance.now();
  const split = given.split ?? planByScene(given.dataset, given.frames);
  if (split.sides.length !== given.frames.length) {
    throw new Error(`split plan of ${split.sides.length} frames for a list of ${given.frames.length}`);
  }
  const settings: JobSettings = { ...given, split };
  // Only a recipe that pastes pool art reads the pool; its files are checked before anything is written.
  if (settings.art && settings.recipe.kinds.art > 0 && settings.recipe.art.source === "pool") {
    await checkPool(settings.art);
  }
  const { dataset, root, recipe, seed } = settings;
  await holdSettings(
    settings.out,
    { dataset, root, recipe, seed, art: settings.art ?? null },
    opts.force ?? false,
  );
  await holdSplit(settings.out, split);
  const [i, n] = opts.shard;
  // What a killed run left half-written goes on a resume, and on any unsharded run: only the shards of one
  // array job write a set side by side, and a starting shard must not take another's files in flight.
  const staleRemoved = opts.resume || n === 1 ? await removeStaleTemporaries(settings.out) : 0;
  const mine = settings.frames.filter((f) => f.index % n === i - 1);
  const todo: FrameRef[] = [];
  let skipped = 0;
  for (const ref of mine) {
    if (opts.limit !== undefined && todo.length >= opts.limit) break;
    if (opts.resume && await exists(recordPath(settings.out, ref))) skipped++;
    else todo.push(ref);
  }
  opts.onStart?.(todo.length);
  const { done, rejected } = await runPool(settings, todo, opts);
  const assembled = await assemble(settings.out, settings.frames, {
    dataset: settings.dataset,
    recipe: settings.recipe,
    seed: settings.seed,
    version: opts.version,
    split,
  });
  const elapsedS = (performance.now() - started) / 1000;
  return {
    ...assembled,
    processed: done,
    rejectedNow: rejected,
    skipped,
    staleRemoved,
    elapsedS,
    framesPerS: (done + rejected) / Math.max(elapsedS, 1e-9),
  };
}

/**
 * Records the split a set is made with (`.trompe/split.json`, before any frame) and refuses to add frames to a
 * set made with another: content was drawn within the sides of the first, and a frame's side is part of it.
 */
async function holdSplit(out: string, plan: SplitPlan): Promise<void> {
  const path = join(out, STATE_DIR, "split.json");
  const mine = { rule: plan.rule, spec: plan.spec, digest: plan.digest, train: plan.train, val: plan.val };
  let text: string | null = null;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    // a new set
  }
  if (text === null) {
    if (await hasEntries(join(out, STATE_DIR, "records"))) {
      throw new TrompeError("bad-argument", "this set's frames were made before trompe recorded its split", {
        subject: out,
        hint: "its art may come from either side; augment into a fresh --out",
      });
    }
    await writeTextFileAtomic(path, JSON.stringify(mine, null, 2) + "\n");
    return;
  }
  const held = JSON.parse(text) as typeof mine;
  if (held.digest !== plan.digest) {
    throw new TrompeError(
      "bad-argument",
      `this set was made with another train/val split (${held.rule}; ${held.train} train, ${held.val} val ` +
        `frames), this run asks for ${plan.rule} (${plan.train} train, ${plan.val} val)`,
      { subject: out, hint: "pass the split options of the first run, or write to a fresh --out" },
    );
  }
}

async function hasEntries(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return true;
  } catch {
    // no such folder
  }
  return false;
}

async function runPool(
  settings: JobSettings,
  todo: readonly FrameRef[],
  opts: RunOptions,
): Promise<{ done: number; rejected: number }> {
  let next = 0, done = 0, rejected = 0;
  const total = todo.length;
  if (total === 0) return { done, rejected };
  const byIndex = new Map(todo.map((r) => [r.index, r]));
  const count = Math.max(1, Math.min(opts.workers, total));

  await new Promise<void>((resolve, reject) => {
    let finished = 0;
    const settle = async (reply: WorkerReply) => {
      opts.onFrame?.(reply.type === "reject");
      if (reply.type === "done") {
        done++;
        return;
      }
      rejected++;
      const ref = byIndex.get(reply.index)!;
      const line = { id: ref.rgb, rgb: ref.rgb, depth: ref.depth, reason: reply.reason };
      await writeTextFileAtomic(rejectPath(settings.out, ref), JSON.stringify(line) + "\n");
    };
    const spawn = () => {
      const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
      const inFlight = new Set<number>();
      const feed = () => {
        while (inFlight.size < IN_FLIGHT && next < total) {
          const ref = todo[next++];
          inFlight.add(ref.index);
          worker.postMessage({ type: "frame", ref } satisfies WorkerRequest);
        }
        if (inFlight.size === 0) {
          worker.terminate();
          if (++finished === count) resolve();
        }
      };
      worker.onmessage = (event: MessageEvent<WorkerReply>) => {
        inFlight.delete(event.data.index);
        settle(event.data).then(feed, reject);
      };
      // A worker that dies (out of memory, a bug) takes its frames with it as rejects; a fresh one carries on.
      worker.onerror = (event) => {
        event.preventDefault();
        worker.terminate();
        const lost = [...inFlight].map((index) => ({
          type: "reject" as const,
          index,
          reason: `worker crashed: ${event.message}`,
        }));
        Promise.all(lost.map(settle)).then(spawn, reject);
      };
      worker.postMessage({ type: "init", settings } satisfies WorkerRequest);
      feed();
    };
    for (let w = 0; w < count; w++) spawn();
  });
  return { done, rejected };
}
