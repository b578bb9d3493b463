/**
 * A frame of a dataset named by its paths relative to the root, and where an augmented set keeps its mask: the
 * names augmentation writes by and training and evaluation read by.
 */
import { join } from "node:path";

/** One frame of the source dataset, with paths relative to its root (and so to the output root). */
export interface FrameRef {
  /** Position in the canonical (sorted) frame list of the whole dataset or split. */
  readonly index: number;
  readonly rgb: string;
  readonly depth: string;
}

/** An augmented set's mask of a frame: `masks/<rgb path without its extension>.png`. */
export function maskPath(ref: Pick<FrameRef, "rgb">): string {
  return join("masks", ref.rgb.replace(/\.[^./]+$/, "") + ".png");
}
