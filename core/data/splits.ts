/**
 * Depth Anything V2 split files: one `<rgb path> <depth path>` per line, separated by one space, paths
 * relative to a root (or absolute). And trompe's train/val split, decided per item by a hash of (seed,
 * identity), so it never depends on the order items are listed in or on how the work is sharded.
 */
import { isAbsolute, relative, resolve } from "node:path";
import { TrompeError } from "../errors.ts";
import { readFileNamed, writeTextFileAtomic } from "../io/atomic.ts";
import { hashUnit } from "../rng.ts";
import { isFile } from "./scan.ts";

/** One line of a split file: an RGB path and its depth path. */
export interface SplitItem {
  rgbPath: string;
  depthPath: string;
}

export interface SplitLine extends SplitItem {
  /** 1-based line number in the split file. */
  line: number;
}

/**
 * Reads a split file; relative paths resolve against `root` (default: the current directory). With `check`
 * (default true) every file must exist: the first that does not is a TrompeError naming it and the line.
 */
export async function readSplitFile(
  path: string,
  options: { root?: string; check?: boolean } = {},
): Promise<SplitLine[]> {
  const { root = ".", check = true } = options;
  const text = new TextDecoder().decode(await readFileNamed(path));
  const items: SplitLine[] = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === "") continue;
    const parts = line.split(" ");
    if (parts.length !== 2 || parts.some((p) => p === "")) {
      throw new TrompeError("corrupt", `line ${n + 1}: expected '<rgb> <depth>' separated by one space`, {
        subject: path,
      });
    }
    const [rgbPath, depthPath] = parts.map((p) => (isAbsolute(p) ? p : resolve(root, p)));
    if (check) {
      for (const file of [rgbPath, depthPath]) {
        if (!(await isFile(file))) {
          throw new TrompeError("not-found", `listed on line ${n + 1} of ${path} but missing`, {
            subject: file,
            hint: root === "." ? "pass the dataset root the split's paths are relative to" : `root: ${root}`,
          });
        }
      }
    }
    items.push({ rgbPath, depthPath, line: n + 1 });
  }
  return items;
}

/** The split line for an item: paths relative to `root` when given (the official lists are), else as they are. */
export function splitLine(item: SplitItem, root?: string): string {
  const paths = [item.rgbPath, item.depthPath].map((p) => (root === undefined ? p : relative(root, p)));
  for (const p of paths) {
    if (p.includes(" ") || p.includes("\n")) {
      throw new TrompeError("bad-argument", "a split file cannot hold a path with a space or newline", {
        subject: p,
      });
    }
  }
  return paths.join(" ");
}

/** Writes a split file (`<rgb> <depth>` per line, relative to `root` when given) atomically. */
export async function writeSplitFile(
  path: string,
  items: readonly SplitItem[],
  root?: string,
): Promise<void> {
  await writeTextFileAtomic(path, items.map((item) => splitLine(item, root) + "\n").join(""));
}

export interface TrainValOptions {
  seed: number | string;
  /** Expected share of items (by frame) or scenes (by scene) that go to validation, 0–1. */
  valFraction: number;
  /** "frame": each item on its own; "scene": whole scenes, so no scene lands in both parts. */
  by: "frame" | "scene";
}

/** Splits items into train and val, keeping their order; the decision for an item never depends on the others. */
export function splitTrainVal<T extends { id: string; scene: string }>(
  items: readonly T[],
  options: TrainValOptions,
): { train: T[]; val: T[] } {
  const { seed, valFraction, by } = options;
  if (!(valFraction >= 0 && valFraction <= 1)) {
    throw new TrompeError("bad-argument", `valFraction must be within 0–1, got ${valFraction}`);
  }
  const train: T[] = [];
  const val: T[] = [];
  for (const item of items) {
    const identity = by === "scene" ? `scene:${item.scene}` : `frame:${item.id}`;
    (hashUnit(seed, "split", identity) < valFraction ? val : train).push(item);
  }
  return { train, val };
}
