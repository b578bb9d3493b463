/**
 * A dataset as a frame list with paths relative to the root (so they are an augmented copy's paths too),
 * frames read through the dataset's readers, and frames written back through its writers in the dataset's own
 * formats, so the official trainer reads an augmented set as it reads the original. Augmentation, training and
 * evaluation all reach a dataset through here.
 *
 * Hypersim depth goes out as it came in: planar depth is turned back into float16 distance with the official
 * loader's pinhole, the convention it was read with. That round trip is exact outside the mask (a float16
 * distance times the factor and divided by it again rounds back to itself), so untouched pixels keep their
 * stored bits; vKITTI2 centimetres come back exactly from cm / 100 in float32 the same way.
 */
import { isAbsolute, join, relative } from "node:path";
import { TrompeError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { writeJpeg } from "../io/jpeg.ts";
import type { DatasetName } from "./datasets.ts";
import type { FrameRef } from "./frame_paths.ts";
import { listHypersimFrames, readHypersimSample, writeHypersimDepth } from "./hypersim.ts";
import type { Sample } from "./sample.ts";
import type { ScanProblem } from "./scan.ts";
import { readSplitFile } from "./splits.ts";
import { listVkitti2Frames, readVkitti2Sample, writeVkitti2Depth } from "./vkitti2.ts";

export interface FrameList {
  /** Sorted by RGB path, indexed in that order. */
  readonly frames: FrameRef[];
  /** What the listing found wrong (an RGB without depth, an unreadable folder); those frames are left out. */
  readonly problems: ScanProblem[];
}

/** What a frame's files hold: its RGB and its depth in metres. */
export type FrameContent = Pick<Sample, "rgb" | "depth">;

export interface DatasetAdapter {
  /** Frames under `root`, or those a split file lists (relative to `root`, or absolute under it). */
  list(root: string, split?: string): Promise<FrameList>;
  read(root: string, ref: FrameRef): Promise<Sample>;
  /** Writes RGB (JPEG q95) and depth at the frame's relative paths under `out`. */
  write(out: string, ref: FrameRef, frame: FrameContent): Promise<void>;
  /** Copies files of the layout other than RGB and depth that readers need (vKITTI2 camera files). */
  copyExtras(root: string, out: string, ref: FrameRef): Promise<void>;
}

const HYPERSIM_RGB = /^(ai_\d{3}_\d{3})\/images\/scene_(cam_\d+)_final_preview\/frame\.(\d+)\.tonemap\.jpg$/;
const VKITTI2_RGB = /^(Scene\d+)\/([^/]+)\/frames\/rgb\/Camera_(\d+)\/rgb_(\d+)\.jpg$/;

/** Where a frame sits in its layout, from its RGB path; a split line outside the layout is an error. */
function layout(ref: FrameRef, pattern: RegExp, dataset: DatasetName): string[] {
  const m = pattern.exec(ref.rgb.replaceAll("\\", "/"));
  if (!m) {
    throw new TrompeError("corrupt", `not a ${dataset} RGB path`, {
      subject: ref.rgb,
      hint: "augmented sets keep the source layout, so every frame must sit in it",
    });
  }
  return m.slice(1);
}

const hypersim: DatasetAdapter = {
  async list(root, split) {
    if (split) return { frames: await listSplit(root, split), problems: [] };
    const { frames, problems } = await listHypersimFrames(root);
    return { frames: indexed(root, frames), problems };
  },
  read(root, ref) {
    const [scene, camera, frame] = layout(ref, HYPERSIM_RGB, "hypersim");
    const rgbPath = join(root, ref.rgb), depthPath = join(root, ref.depth);
    return readHypersimSample({ scene, camera, frame, rgbPath, depthPath }, { planar: "official" });
  },
  async write(out, ref, frame) {
    const { width, height } = frame.rgb;
    await writeJpeg(join(out, ref.rgb), frame.rgb, 95);
    await writeHypersimDepth(join(out, ref.depth), frame.depth, width, height, "official");
  },
  copyExtras: () => Promise.resolve(),
};

/** Variations whose camera files this worker has copied, per source root and output. */
const copiedExtras = new Set<string>();

const vkitti2: DatasetAdapter = {
  async list(root, split) {
    if (split) return { frames: await listSplit(root, split), problems: [] };
    const { frames, problems } = await listVkitti2Frames(root);
    return { frames: indexed(root, frames), problems };
  },
  read(root, ref) {
    const [scene, variation, camera, frame] = layout(ref, VKITTI2_RGB, "vkitti2");
    return readVkitti2Sample({
      scene,
      variation,
      camera: Number(camera),
      frame,
      rgbPath: join(root, ref.rgb),
      depthPath: join(root, ref.depth),
      intrinsicPath: join(root, scene, variation, "intrinsic.txt"),
    });
  },
  async write(out, ref, frame) {
    const { width, height } = frame.rgb;
    await writeJpeg(join(out, ref.rgb), frame.rgb, 95);
    await writeVkitti2Depth(join(out, ref.depth), frame.depth, width, height);
  },
  // The camera files belong to the layout (readers need intrinsic.txt): copied by the first frame of each
  // variation a worker does, before that frame's record marks it complete (so a resumed run still has them);
  // workers write the same bytes, atomically, so they cannot tear them.
  async copyExtras(root, out, ref) {
    const [scene, variation] = layout(ref, VKITTI2_RGB, "vkitti2");
    const key = `${root}\u0000${out}\u0000${scene}/${variation}`;
    if (copiedExtras.has(key)) return;
    for (const name of ["intrinsic.txt", "extrinsic.txt"]) {
      const bytes = await Deno.readFile(join(root, scene, variation, name)).catch(() => null);
      if (bytes) await writeFileAtomic(join(out, scene, variation, name), bytes);
    }
    copiedExtras.add(key);
  },
};

function indexed(root: string, frames: readonly { rgbPath: string; depthPath: string }[]): FrameRef[] {
  return frames
    .map((f) => ({ rgb: relative(root, f.rgbPath), depth: relative(root, f.depthPath) }))
    .sort((a, b) => (a.rgb < b.rgb ? -1 : a.rgb > b.rgb ? 1 : 0))
    .map((f, index) => ({ index, ...f }));
}

/**
 * A split file's frames in its own order. Missing files are not checked here: each becomes a reject naming
 * the file when its frame is read, and the run goes on. A path outside the root has no place in the output.
 */
async function listSplit(root: string, split: string): Promise<FrameRef[]> {
  const lines = await readSplitFile(split, { root, check: false });
  return lines.map((line, index) => {
    const [rgb, depth] = [line.rgbPath, line.depthPath].map((p) => relative(root, p));
    for (const p of [rgb, depth]) {
      if (p.startsWith("..") || isAbsolute(p)) {
        throw new TrompeError("bad-argument", `line ${line.line}: ${p} is outside the dataset root ${root}`, {
          subject: split,
          hint: "the augmented set mirrors the root's layout, so every frame must be under --root",
        });
      }
    }
    return { index, rgb, depth };
  });
}

export function adapterFor(name: DatasetName): DatasetAdapter {
  return name === "hypersim" ? hypersim : vkitti2;
}
