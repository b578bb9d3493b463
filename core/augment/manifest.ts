/**
 * The bookkeeping of an augmented set. Each finished frame leaves a record file (written last, after its
 * outputs, so its presence means the frame is complete — what `--resume` checks); each unreadable frame a reject
 * file. At the end of every run (or shard) the set-level files are rebuilt from them in frame order:
 * `manifest.jsonl`, `rejects.jsonl`, `splits/{train,val}.txt` and `recipe.json` (which says how the split was
 * made). Nothing here depends on which worker or shard made a frame, so the set's bytes do not either.
 */
import { join } from "node:path";
import type { FrameRef } from "../data/frame_paths.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import type { Recipe } from "./recipe.ts";
import type { SplitPlan } from "./split.ts";

export const STATE_DIR = ".trompe";

export function recordPath(out: string, ref: FrameRef): string {
  return join(out, STATE_DIR, "records", ref.rgb + ".json");
}

export function rejectPath(out: string, ref: FrameRef): string {
  return join(out, STATE_DIR, "rejects", ref.rgb + ".json");
}

export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

export interface SetInfo {
  readonly dataset: string;
  readonly recipe: Recipe;
  readonly seed: number;
  readonly version: string;
  /** Each frame's side, decided before the run (see split.ts). */
  readonly split: SplitPlan;
}

export interface Assembled {
  readonly completed: number;
  readonly rejected: number;
  readonly train: number;
  readonly val: number;
}

/**
 * Rebuilds the set-level files from per-frame records. Each completed frame goes to the side the split plan
 * gave it before the run (the source's split, or whole scenes by a hash of their names), so a frame's side
 * depends on neither the seed, the order frames finished in, nor which others were rejected. Paths in split
 * files are relative to the set's root, as in the source layout.
 */
export async function assemble(out: string, frames: readonly FrameRef[], info: SetInfo): Promise<Assembled> {
  const manifest: string[] = [], rejects: string[] = [];
  const train: string[] = [], val: string[] = [];
  const line = (r: FrameRef) => `${r.rgb} ${r.depth}\n`;
  for (const [k, ref] of frames.entries()) {
    const record = await readIfExists(recordPath(out, ref));
    if (record !== null) {
      manifest.push(record.trim());
      (info.split.sides[k] === "val" ? val : train).push(line(ref));
      continue;
    }
    const reject = await readIfExists(rejectPath(out, ref));
    if (reject !== null) rejects.push(reject.trim());
  }
  const text = (lines: string[]) => lines.map((l) => (l.endsWith("\n") ? l : l + "\n")).join("");
  await writeTextFileAtomic(join(out, "manifest.jsonl"), text(manifest));
  await writeTextFileAtomic(join(out, "rejects.jsonl"), text(rejects));
  await writeTextFileAtomic(join(out, "splits", "train.txt"), train.join(""));
  await writeTextFileAtomic(join(out, "splits", "val.txt"), val.join(""));
  const { rule, spec, digest } = info.split;
  const split = { rule, spec, digest, train: info.split.train, val: info.split.val };
  const recipeJson = {
    trompe: info.version,
    dataset: info.dataset,
    seed: info.seed,
    split,
    recipe: info.recipe,
  };
  await writeTextFileAtomic(join(out, "recipe.json"), JSON.stringify(recipeJson, null, 2) + "\n");
  return {
    completed: train.length + val.length,
    rejected: rejects.length,
    train: train.length,
    val: val.length,
  };
}

/** Removes temporary files a killed run left behind (`name.tmp-PID-N`, from the atomic writer). */
export async function removeStaleTemporaries(dir: string): Promise<number> {
  let removed = 0;
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) removed += await removeStaleTemporaries(path);
    else if (/\.tmp-\d+-\d+$/.test(entry.name)) {
      await Deno.remove(path);
      removed++;
    }
  }
  return removed;
}
