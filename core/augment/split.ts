/**
 * Which side of the train/val split each frame of an augmented set is on, decided before any frame is worked
 * on, so it depends on nothing a run does (seed, worker count, the order frames finish in, rejects):
 *
 * - **files**: the source's own split files (`--train-split`, `--val-split`, Depth Anything V2 format): each
 *   listed frame stays on its side; the set is the frames they list.
 * - **hypersim-csv**: Hypersim's official scene-level split (`metadata_images_split_scene_v1.csv`): train →
 *   train, val → val; its test scenes are left out of the set.
 * - **scene** (the default): whole scenes (Hypersim `ai_XXX_YYY`, vKITTI2 `SceneXX/variation`), a scene in
 *   validation when a hash of its name alone falls below 0.2 — so a scene is on the same side in every run and
 *   every tree it appears in. A tree of two or more scenes none of which hashes to validation sends the one with
 *   the lowest hash there (and one whose scenes all hash to validation keeps its highest in train), so a small
 *   tree still holds one out.
 *
 * Dataset content pasted into a frame (art cut from another frame) is drawn only from frames on its side.
 */
import { relative } from "node:path";
import { readHypersimOfficialSplit } from "../data/hypersim.ts";
import { readSplitFile } from "../data/splits.ts";
import { TrompeError } from "../errors.ts";
import { hash128, hashUnit } from "../rng.ts";
import { adapterFor, type FrameList } from "../data/adapters.ts";
import type { DatasetName } from "../data/datasets.ts";
import type { FrameRef } from "../data/frame_paths.ts";

export type Side = "train" | "val";

/** What the user asked for; file paths as given. */
export type SplitSpec =
  | { readonly by: "scene" }
  | { readonly by: "files"; readonly train?: string; readonly val?: string }
  | { readonly by: "hypersim-csv"; readonly csv: string };

/** The decided split of a frame list: a side per frame, by position in the list. */
export interface SplitPlan {
  readonly spec: SplitSpec;
  /** One line saying how sides were decided, for summaries and recipe.json. */
  readonly rule: string;
  readonly sides: readonly Side[];
  /** Hash of every frame's (RGB path, side): two plans agree on every frame exactly when their digests match. */
  readonly digest: string;
  readonly train: number;
  readonly val: number;
}

/** Share of scenes the scene rule holds out. */
export const VAL_FRACTION = 0.2;

const HYPERSIM_SCENE = /^(ai_\d{3}_\d{3})\//;
const VKITTI2_SCENE = /^(Scene\d+\/[^/]+)\//;

/** The scene a frame belongs to for splitting: Hypersim `ai_XXX_YYY`, vKITTI2 `SceneXX/variation`. */
export function sceneOf(dataset: DatasetName, rgb: string): string {
  const path = rgb.replaceAll("\\", "/");
  const m = (dataset === "hypersim" ? HYPERSIM_SCENE : VKITTI2_SCENE).exec(path);
  if (!m) {
    throw new TrompeError("corrupt", `not a ${dataset} RGB path: no scene in it`, {
      subject: rgb,
      hint: dataset === "hypersim"
        ? "expected ai_XXX_YYY/images/..."
        : "expected SceneXX/<variation>/frames/...",
    });
  }
  return m[1];
}

/** The scene rule's hash of a scene name (no seed: the side of a scene never depends on the run). */
export function sceneHash(scene: string): number {
  return hashUnit("trompe-split", "scene", scene);
}

export function makePlan(
  spec: SplitSpec,
  rule: string,
  frames: readonly FrameRef[],
  sides: Side[],
): SplitPlan {
  if (sides.length !== frames.length) throw new Error("a side per frame");
  const [a, b, c, d] = hash128(frames.map((f, k) => `${f.rgb}\t${sides[k]}`).join("\n"));
  const digest = [a, b, c, d].map((w) => w.toString(16).padStart(8, "0")).join("");
  const val = sides.filter((s) => s === "val").length;
  return { spec, rule, sides, digest, train: sides.length - val, val };
}

/** The default rule: whole scenes, 80/20 by a hash of the scene name. */
export function planByScene(dataset: DatasetName, frames: readonly FrameRef[]): SplitPlan {
  const scenes = [...new Set(frames.map((f) => sceneOf(dataset, f.rgb)))].sort();
  const hashes = new Map(scenes.map((s) => [s, sceneHash(s)]));
  const valScenes = new Set(scenes.filter((s) => hashes.get(s)! < VAL_FRACTION));
  const byHash = [...scenes].sort((x, y) => hashes.get(x)! - hashes.get(y)! || (x < y ? -1 : 1));
  if (scenes.length >= 2 && valScenes.size === 0) valScenes.add(byHash[0]);
  if (scenes.length >= 2 && valScenes.size === scenes.length) valScenes.delete(byHash[byHash.length - 1]);
  const sides = frames.map((f): Side => (valScenes.has(sceneOf(dataset, f.rgb)) ? "val" : "train"));
  const count = (n: number) => `${n} scene${n === 1 ? "" : "s"}`;
  const rule =
    `by scene: ${count(scenes.length - valScenes.size)} in train, ${count(valScenes.size)} in val ` +
    `(${Math.round(100 * VAL_FRACTION)} % of scenes by a hash of the scene name, whatever the seed)`;
  return makePlan({ by: "scene" }, rule, frames, sides);
}

export interface SplitListing extends FrameList {
  readonly plan: SplitPlan;
  /** Frames of the tree the rule leaves out of the set (Hypersim's test scenes), with why. */
  readonly leftOut: { readonly rgb: string; readonly reason: string }[];
}

/**
 * The frames to augment and their sides. `only` (`--split`) restricts the frames to those one split file lists;
 * with the files rule every such frame must be on a side. Bad split input — a listed frame that is not in the
 * tree, a frame on both sides, a scene the CSV does not know — is one TrompeError naming the file and the frame.
 */
export async function listWithSplit(
  dataset: DatasetName,
  root: string,
  spec: SplitSpec,
  only?: string,
): Promise<SplitListing> {
  const adapter = adapterFor(dataset);
  if (spec.by === "scene") {
    const { frames, problems } = await adapter.list(root, only);
    return { frames, problems, plan: planByScene(dataset, frames), leftOut: [] };
  }
  if (spec.by === "hypersim-csv") {
    if (dataset !== "hypersim") {
      throw new TrompeError("bad-argument", "Hypersim's split CSV splits Hypersim only", {
        subject: "--split-csv",
        hint: "for vKITTI2 pass --train-split/--val-split, or nothing for the split by scene",
      });
    }
    const listed = await adapter.list(root, only);
    const partitions = sceneSplit(await readHypersimOfficialSplit(spec.csv), spec.csv);
    const unknown = listed.frames.filter((f) => !partitions.has(sceneOf(dataset, f.rgb)));
    if (unknown.length > 0) {
      const scenes = [...new Set(unknown.map((f) => sceneOf(dataset, f.rgb)))];
      throw new TrompeError(
        "bad-argument",
        `${scenes.length} scene${scenes.length === 1 ? "" : "s"} of ${root} ` +
          `(${unknown.length} frames) not in the split CSV: ${scenes.slice(0, 3).join(", ")}` +
          (scenes.length > 3 ? ", ..." : ""),
        { subject: spec.csv, hint: "pass the CSV of the release these scenes come from, or no split rule" },
      );
    }
    const kept: Omit<FrameRef, "index">[] = [], sides: Side[] = [];
    const leftOut: SplitListing["leftOut"] = [];
    for (const f of listed.frames) {
      const part = partitions.get(sceneOf(dataset, f.rgb))!;
      if (part === "test") leftOut.push({ rgb: f.rgb, reason: "a test scene of the official split" });
      else (kept.push({ rgb: f.rgb, depth: f.depth }), sides.push(part));
    }
    const frames = kept.map((f, index) => ({ index, ...f }));
    const rule = `Hypersim's official scene split (${spec.csv}); its test scenes left out`;
    return { frames, problems: listed.problems, plan: makePlan(spec, rule, frames, sides), leftOut };
  }
  return await listByFiles(dataset, root, spec, only);
}

/** Scene → partition from the official per-frame map; a scene split across partitions is corrupt input. */
function sceneSplit(frames: Map<string, "train" | "val" | "test">, csv: string): Map<string, Side | "test"> {
  const scenes = new Map<string, Side | "test">();
  for (const [id, part] of frames) {
    const scene = id.slice(0, id.indexOf("/"));
    const seen = scenes.get(scene);
    if (seen !== undefined && seen !== part) {
      throw new TrompeError("corrupt", `scene ${scene} is in both ${seen} and ${part}`, {
        subject: csv,
        hint:
          "trompe splits Hypersim by scene: pass the scene-level split (metadata_images_split_scene_v1.csv)",
      });
    }
    scenes.set(scene, part);
  }
  return scenes;
}

async function listByFiles(
  dataset: DatasetName,
  root: string,
  spec: Extract<SplitSpec, { by: "files" }>,
  only?: string,
): Promise<SplitListing> {
  const adapter = adapterFor(dataset);
  const tree = await adapter.list(root);
  const depthOf = new Map(tree.frames.map((f) => [f.rgb, f.depth]));
  const where = new Map<string, { side: Side; file: string; line: number }>();
  for (const side of ["train", "val"] as const) {
    const file = spec[side];
    if (file === undefined) continue;
    const lines = await readSplitFile(file, { root, check: false });
    const strangers: string[] = [];
    for (const line of lines) {
      const rgb = relative(root, line.rgbPath), depth = relative(root, line.depthPath);
      const known = depthOf.get(rgb);
      if (known === undefined) {
        strangers.push(`line ${line.line} (${rgb})`);
        continue;
      }
      if (known !== depth) {
        throw new TrompeError("bad-argument", `line ${line.line}: ${rgb}'s depth is ${known}, not ${depth}`, {
          subject: file,
          hint: "a split line pairs a frame's RGB with its own depth file",
        });
      }
      const seen = where.get(rgb);
      if (seen) {
        const what = seen.side === side
          ? `line ${line.line} repeats line ${seen.line} (${rgb})`
          : `line ${line.line}: ${rgb} is also on line ${seen.line} of the ${seen.side} split ${seen.file}`;
        throw new TrompeError("bad-argument", what, {
          subject: file,
          hint: "a frame belongs to one side of the split, once",
        });
      }
      where.set(rgb, { side, file, line: line.line });
    }
    if (strangers.length > 0) {
      throw new TrompeError(
        "bad-argument",
        `${strangers.length} listed frame${strangers.length === 1 ? " is" : "s are"} not in ${root}: ` +
          strangers.slice(0, 3).join(", ") + (strangers.length > 3 ? ", ..." : ""),
        {
          subject: file,
          hint: "the split must list frames of --root (an RGB with its depth), relative to it",
        },
      );
    }
  }
  let chosen = [...where.keys()];
  if (only !== undefined) {
    const subset = (await adapter.list(root, only)).frames;
    const off = subset.filter((f) => !where.has(f.rgb));
    if (off.length > 0) {
      throw new TrompeError(
        "bad-argument",
        `${off.length} frame${off.length === 1 ? "" : "s"} listed here on neither side of the split: ${
          off[0].rgb
        }`,
        { subject: only, hint: "every frame augmented must be in --train-split or --val-split" },
      );
    }
    chosen = subset.map((f) => f.rgb);
  }
  chosen.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const frames = chosen.map((rgb, index) => ({ index, rgb, depth: depthOf.get(rgb)! }));
  const sides = frames.map((f) => where.get(f.rgb)!.side);
  const named = [spec.train && `train ${spec.train}`, spec.val && `val ${spec.val}`].filter(Boolean).join(
    ", ",
  );
  const rule = `the source's split files (${named}), each frame on its side`;
  const problems = tree.problems.filter((p) => chosen.some((rgb) => p.path.endsWith(rgb)));
  return { frames, problems, plan: makePlan(spec, rule, frames, sides), leftOut: [] };
}

/** Positions of the frames on each side, sorted: the frames one frame may take content from (itself aside). */
export function sideGroups(plan: SplitPlan): { readonly train: number[]; readonly val: number[] } {
  const train: number[] = [], val: number[] = [];
  plan.sides.forEach((s, k) => (s === "train" ? train : val).push(k));
  return { train, val };
}
