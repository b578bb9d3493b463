/**
 * The work for one frame, the same in a worker or in-process: read it, augment it, write the RGB and depth in
 * the source's format, the mask, and last the record that marks the frame complete.
 */
import { join } from "node:path";
import { readFileNamed, writeFileAtomic, writeTextFileAtomic } from "../io/atomic.ts";
import { readImageRgb } from "../io/image.ts";
import { writePng } from "../io/png.ts";
import { listPool } from "./art_pool.ts";
import { adapterFor } from "../data/adapters.ts";
import type { DatasetName } from "../data/datasets.ts";
import { type FrameRef, maskPath } from "../data/frame_paths.ts";
import { recordPath, rejectPath } from "./manifest.ts";
import type { Recipe } from "./recipe.ts";
import { augmentFrame, type SampleRecord } from "./sample_augment.ts";
import type { Content, FrameContent, Sources } from "./sources.ts";
import { planByScene, type Side, sideGroups, type SplitPlan } from "./split.ts";

/** What an augmentation run makes: from which dataset tree, into which folder, by which recipe and seed. */
export interface JobSettings {
  readonly dataset: DatasetName;
  readonly root: string;
  readonly out: string;
  readonly recipe: Recipe;
  readonly seed: number;
  /** Pool folder of images to paste (`--art`), if any. */
  readonly art?: string;
  /** The whole frame list, for dataset sources ("wall paintings" of other frames). */
  readonly frames: readonly FrameRef[];
  /** Each frame's side of the train/val split (default: by scene); content is drawn within a side. */
  readonly split?: SplitPlan;
}

export type WorkerRequest = { type: "init"; settings: JobSettings } | { type: "frame"; ref: FrameRef };
export type WorkerReply =
  | { type: "done"; index: number; record: ManifestRecord }
  | { type: "reject"; index: number; reason: string };

/** One line of manifest.jsonl. */
export interface ManifestRecord extends SampleRecord {
  readonly id: string;
  readonly seed: number;
  /** The frame's side of the split; every frame its pasted content came from is on the same side. */
  readonly split: Side;
  readonly source: { readonly rgb: string; readonly depth: string };
  readonly output: { readonly rgb: string; readonly depth: string; readonly mask: string };
}

export async function processFrame(settings: JobSettings, ref: FrameRef): Promise<ManifestRecord> {
  const adapter = adapterFor(settings.dataset);
  const frame = await adapter.read(settings.root, ref);
  const sources = sourcesFor(settings);
  // The identity seeds hash from is the RGB path relative to the root: known before reading, and the same
  // for a frame found by a directory scan or listed in a split file.
  const augmented = await augmentFrame(
    { ...frame, id: ref.rgb, index: ref.index },
    settings.recipe,
    settings.seed,
    sources.sources,
    { inPlace: true }, // the frame was read for this alone
  );
  if (augmented.record.kind === "clean") {
    // Copied, not re-encoded: a clean frame is the source frame, byte for byte.
    for (const rel of [ref.rgb, ref.depth]) {
      await writeFileAtomic(join(settings.out, rel), await readFileNamed(join(settings.root, rel)));
    }
  } else await adapter.write(settings.out, ref, augmented);
  await adapter.copyExtras(settings.root, settings.out, ref);
  const mask = maskPath(ref);
  await writePng(join(settings.out, mask), {
    width: frame.width,
    height: frame.height,
    channels: 1,
    data: augmented.mask,
  }, { filter: "none" });
  const record: ManifestRecord = {
    id: ref.rgb,
    seed: settings.seed,
    split: sources.plan.sides[ref.index],
    source: { rgb: join(settings.root, ref.rgb), depth: join(settings.root, ref.depth) },
    output: { rgb: ref.rgb, depth: ref.depth, mask },
    ...augmented.record,
  };
  await Deno.remove(rejectPath(settings.out, ref)).catch(() => {});
  await writeTextFileAtomic(recordPath(settings.out, ref), JSON.stringify(record) + "\n");
  return record;
}

const POOL_CACHE = 16, FRAME_CACHE = 4;
let cached: { key: string; sources: Sources; plan: SplitPlan } | null = null;

/**
 * Sources for these settings, decoded lazily and kept in small caches (most-recently-used); a frame's dataset
 * art comes only from frames on its side of the split.
 */
function sourcesFor(settings: JobSettings): { sources: Sources; plan: SplitPlan } {
  const plan = settings.split ?? planByScene(settings.dataset, settings.frames);
  const key = `${settings.dataset}\u0000${settings.root}\u0000${settings.art ?? ""}\u0000${plan.digest}`;
  if (cached?.key === key) return cached;
  const adapter = adapterFor(settings.dataset);
  const poolFiles = settings.art ? listPool(settings.art) : [];
  const pool = lru<Content>(
    POOL_CACHE,
    async (i) => ({ name: poolFiles[i], rgb: await readImageRgb(join(settings.art!, poolFiles[i])) }),
  );
  const frame = lru<FrameContent>(FRAME_CACHE, async (i) => {
    const ref = settings.frames[i];
    return { name: ref.rgb, ...(await adapter.read(settings.root, ref)) };
  });
  const groups = sideGroups(plan);
  const sameSide = (i: number) => groups[plan.sides[i]];
  const sources: Sources = {
    poolSize: poolFiles.length,
    pool,
    frameCount: settings.frames.length,
    frame,
    sameSide,
  };
  cached = { key, sources, plan };
  return cached;
}

function lru<T>(limit: number, load: (i: number) => Promise<T>): (i: number) => Promise<T> {
  const entries = new Map<number, Promise<T>>();
  return (i) => {
    let hit = entries.get(i);
    if (hit) entries.delete(i);
    else {
      hit = load(i);
      hit.catch(() => entries.delete(i));
    }
    entries.set(i, hit);
    if (entries.size > limit) entries.delete(entries.keys().next().value!);
    return hit;
  };
}
