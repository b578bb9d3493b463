/**
 * Reading frames from, and writing augmented frames back in, each dataset's own layout and formats, so the
 * official trainer reads an augmented set as it reads the original. Depth is rewritten only inside the mask:
 * elsewhere the stored values (float16 distances, uint16 centimetres) are copied as they were, bit for bit.
 *
 * TODO(dataset issue): enumeration and the depth conventions here are the loaders' (DESIGN.md §Data formats);
 * switch to core/data/hypersim.ts and core/data/vkitti2.ts once they land so there is one reader.
 */
import { dirname, join, relative, resolve } from "node:path";
import { TrompeError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomic.ts";
import { readHdf5Dataset, writeDepthHdf5 } from "../io/hdf5.ts";
import { readImageRgb } from "../io/image.ts";
import { writeJpeg } from "../io/jpeg.ts";
import { readPng, writePng } from "../io/png.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { Intrinsics } from "./depth_fill.ts";
import type { FrameRef } from "./manifest.ts";
import type { Augmented } from "./sample_augment.ts";

export type DatasetName = "hypersim" | "vkitti2";

export interface FrameData {
  readonly rgb: RasterU8;
  /** Planar depth (m), NaN or the stored value where invalid. */
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
  /** The depth as stored (Hypersim distances, vKITTI2 centimetres), copied outside the mask on write. */
  readonly stored: Float32Array | Uint16Array;
}

export interface DatasetAdapter {
  /** Frames under `root` (or listed in a split file), sorted, paths relative to `root`. */
  list(root: string, split?: string): Promise<FrameRef[]>;
  read(root: string, ref: FrameRef): Promise<FrameData>;
  /** Writes RGB (JPEG q95) and depth at the frame's relative paths under `out`. */
  write(out: string, ref: FrameRef, frame: FrameData, augmented: Augmented): Promise<void>;
  /** Copies files of the layout other than RGB and depth that readers need (vKITTI2 camera files). */
  copyExtras(root: string, out: string, ref: FrameRef): Promise<void>;
}

const HYPERSIM_FOCAL_1024 = 886.81;
const VKITTI2_MAX_DEPTH = 80;
const VKITTI2_SKY = 65535;

const hypersim: DatasetAdapter = {
  list: (root, split) =>
    split
      ? listSplit(root, split)
      : walk(root, /\/images\/scene_cam_\d+_final_preview\/frame\.\d+\.tonemap\.jpg$/, (rgb) =>
        rgb.replace(/_final_preview\/(frame\.\d+)\.tonemap\.jpg$/, "_geometry_hdf5/$1.depth_meters.hdf5")),
  async read(root, ref) {
    const rgb = await readImageRgb(join(root, ref.rgb));
    const path = join(root, ref.depth);
    const ds = await readHdf5Dataset(path);
    const [height, width] = ds.shape;
    checkSize(rgb, width, height, path);
    const stored = Float32Array.from(ds.data as Float16Array);
    const k = hypersimIntrinsics(width, height);
    const depth = new Float32Array(width * height), valid = new Uint8Array(width * height);
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++) {
        const i = r * width + c;
        depth[i] = stored[i] * hypersimPlanarScale(k, c, r);
        valid[i] = Number.isNaN(stored[i]) ? 0 : 1;
      }
    }
    return { rgb, depth, valid, width, height, intrinsics: k, stored };
  },
  async write(out, ref, frame, augmented) {
    const distance = Float32Array.from(frame.stored);
    for (let i = 0; i < distance.length; i++) {
      if (augmented.mask[i] && augmented.mask[i] !== 3) {
        distance[i] = augmented.depth[i] /
          hypersimPlanarScale(frame.intrinsics, i % frame.width, Math.floor(i / frame.width));
      }
    }
    await writeJpeg(join(out, ref.rgb), augmented.rgb, 95);
    await writeDepthHdf5(join(out, ref.depth), distance, frame.height, frame.width, { dtype: "f16" });
  },
  copyExtras: () => Promise.resolve(),
};

/** The official loader's pinhole: f = 886.81 at 1024 px wide (scaled with the width), centred. */
function hypersimIntrinsics(width: number, height: number): Intrinsics {
  const f = (HYPERSIM_FOCAL_1024 * width) / 1024;
  return { fx: f, fy: f, cx: (width - 1) / 2, cy: (height - 1) / 2 };
}

/** planar = distance · f / √(x² + y² + f²). */
function hypersimPlanarScale(k: Intrinsics, c: number, r: number): number {
  const x = c - k.cx, y = r - k.cy;
  return k.fx / Math.sqrt(x * x + y * y + k.fx * k.fx);
}

const vkitti2: DatasetAdapter = {
  list: (root, split) =>
    split
      ? listSplit(root, split)
      : walk(root, /\/frames\/rgb\/Camera_\d+\/rgb_\d+\.jpg$/, (rgb) =>
        rgb.replace(/\/frames\/rgb\/(Camera_\d+)\/rgb_(\d+)\.jpg$/, "/frames/depth/$1/depth_$2.png")),
  async read(root, ref) {
    const rgb = await readImageRgb(join(root, ref.rgb));
    const path = join(root, ref.depth);
    const png = await readPng(path);
    if (!(png.data instanceof Uint16Array)) {
      throw new TrompeError("corrupt", "depth PNG is not 16-bit gray", { subject: path });
    }
    const { width, height } = png;
    checkSize(rgb, width, height, path);
    const stored = png.data;
    const depth = new Float32Array(width * height), valid = new Uint8Array(width * height);
    for (let i = 0; i < stored.length; i++) {
      depth[i] = stored[i] / 100;
      valid[i] = stored[i] !== VKITTI2_SKY && depth[i] <= VKITTI2_MAX_DEPTH ? 1 : 0;
    }
    return { rgb, depth, valid, width, height, intrinsics: await vkittiIntrinsics(root, ref), stored };
  },
  async write(out, ref, frame, augmented) {
    const cm = Uint16Array.from(frame.stored);
    for (let i = 0; i < cm.length; i++) {
      if (augmented.mask[i] && augmented.mask[i] !== 3) {
        cm[i] = Math.min(VKITTI2_SKY - 1, Math.max(1, Math.round(augmented.depth[i] * 100)));
      }
    }
    await writeJpeg(join(out, ref.rgb), augmented.rgb, 95);
    await writePng(join(out, ref.depth), { width: frame.width, height: frame.height, channels: 1, data: cm });
  },
  // The camera files belong to the layout (readers need intrinsic.txt); every frame of a variation writes the
  // same bytes, atomically, so concurrent workers cannot tear them.
  async copyExtras(root, out, ref) {
    const variation = ref.rgb.replace(/\/frames\/rgb\/.*$/, "");
    for (const name of ["intrinsic.txt", "extrinsic.txt"]) {
      const bytes = await Deno.readFile(join(root, variation, name)).catch(() => null);
      if (bytes) await writeFileAtomic(join(out, variation, name), bytes);
    }
  },
};

/** K from `<variation>/intrinsic.txt` for this frame and camera. */
async function vkittiIntrinsics(root: string, ref: FrameRef): Promise<Intrinsics> {
  const m = /^(.*)\/frames\/rgb\/Camera_(\d+)\/rgb_(\d+)\.jpg$/.exec(ref.rgb);
  const file = join(root, m ? m[1] : dirname(ref.rgb), "intrinsic.txt");
  const text = await Deno.readTextFile(file).catch((e) => {
    throw new TrompeError("not-found", "cannot read intrinsics", { subject: file, cause: e });
  });
  for (const line of text.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/).map(Number);
    if (m && f.length === 6 && f[0] === Number(m[3]) && f[1] === Number(m[2])) {
      return { fx: f[2], fy: f[3], cx: f[4], cy: f[5] };
    }
  }
  throw new TrompeError("corrupt", `no intrinsics for ${ref.rgb}`, { subject: file });
}

function checkSize(rgb: RasterU8, width: number, height: number, path: string): void {
  if (rgb.width !== width || rgb.height !== height) {
    throw new TrompeError(
      "shape-mismatch",
      `depth is ${width}×${height} but RGB is ${rgb.width}×${rgb.height}`,
      { subject: path },
    );
  }
}

async function walk(root: string, rgbPattern: RegExp, depthOf: (rgb: string) => string): Promise<FrameRef[]> {
  const found: string[] = [];
  const visit = async (dir: string) => {
    const entries = await Array.fromAsync(Deno.readDir(dir)).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory) await visit(path);
      else if (rgbPattern.test("/" + relative(root, path))) found.push(relative(root, path));
    }
  };
  await visit(root);
  return found.sort().map((rgb, index) => ({ index, rgb, depth: depthOf(rgb) }));
}

/** A Depth Anything V2 split file: `<rgb> <depth>` per line, relative to `root` or absolute under it. */
async function listSplit(root: string, split: string): Promise<FrameRef[]> {
  const text = await Deno.readTextFile(split).catch((e) => {
    throw new TrompeError("not-found", "cannot read split file", { subject: split, cause: e });
  });
  const refs: FrameRef[] = [];
  for (const [n, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const parts = line.trim().split(" ");
    if (parts.length !== 2) {
      throw new TrompeError("corrupt", `line ${n + 1}: expected "<rgb> <depth>"`, { subject: split });
    }
    const [rgb, depth] = parts.map((p) => relative(root, resolve(root, p)));
    refs.push({ index: refs.length, rgb, depth });
  }
  return refs;
}

export function adapterFor(name: DatasetName): DatasetAdapter {
  return name === "hypersim" ? hypersim : vkitti2;
}

/** Image files of a pool folder (JPEG/PNG by extension), sorted so indices are stable. */
export function listPool(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].filter((e) => e.isFile && /\.(jpe?g|png)$/i.test(e.name)).map((e) =>
      e.name
    ).sort();
  } catch (error) {
    throw new TrompeError("not-found", "cannot read the art folder", { subject: dir, cause: error });
  }
}
