/**
 * Hypersim (`<root>/<scene>/images/scene_cam_XX_{final_preview,geometry_hdf5,final_hdf5}/frame.NNNN.*`).
 * Depth is stored as float16 Euclidean *distance* from the camera centre; models train on *planar* depth.
 * Two conversions: "official" is the Depth Anything V2 loader's (one pinhole for every scene, f = 886.81 px at
 * 1024 wide, scaled with the width, principal point at the centre); "exact" uses each scene's own camera
 * (`M_cam_from_uv`), which differs by a few percent on the scenes with a shifted or tilted lens.
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { readFileNamed } from "../io/atomic.ts";
import { halfBits, halfToFloatTable } from "../io/float16.ts";
import { type Hdf5Dataset, readHdf5Dataset, withHdf5Dataset, writeDepthHdf5 } from "../io/hdf5.ts";
import { readImageRgb } from "../io/image.ts";
import type { RasterU8 } from "../io/raster.ts";
import {
  type CameraMatrix,
  type CameraTable,
  HYPERSIM_CAMERAS,
  sceneCamera,
  splitCsvLine,
} from "./hypersim_cameras.ts";
import type { Intrinsics, Sample } from "./sample.ts";
import { listNames, type ScanProblem } from "./scan.ts";

/** One Hypersim frame: scene, camera, frame number and the paths of its files. */
export interface HypersimFrame {
  scene: string;
  /** `cam_00` */
  camera: string;
  /** `0000` as in the file names. */
  frame: string;
  rgbPath: string;
  depthPath: string;
}

export const OFFICIAL_FOCAL_1024 = 886.81;

export type HypersimCamera = "official" | { M_cam_from_uv: CameraMatrix };

const SCENE = /^ai_\d{3}_\d{3}$/;
const PREVIEW = /^scene_(cam_\d+)_final_preview$/;
const TONEMAP = /^frame\.(\d+)\.tonemap\.jpg$/;
const DEPTH = /^frame\.(\d+)\.depth_meters\.hdf5$/;

export function hypersimId(frame: Pick<HypersimFrame, "scene" | "camera" | "frame">): string {
  return `${frame.scene}/${frame.camera}/${frame.frame}`;
}

/** Every (tone-mapped JPEG, depth) pair under `root`; a JPEG without depth or depth without a JPEG is a problem. */
export async function listHypersimFrames(
  root: string,
): Promise<{ frames: HypersimFrame[]; problems: ScanProblem[] }> {
  const problems: ScanProblem[] = [];
  const frames: HypersimFrame[] = [];
  for (const scene of await listNames(root, problems, "directory")) {
    if (!SCENE.test(scene)) continue; // e.g. splits/
    const images = join(root, scene, "images");
    for (const folder of await listNames(images, problems, "directory")) {
      const camera = PREVIEW.exec(folder)?.[1];
      if (!camera) continue;
      const geometry = join(images, `scene_${camera}_geometry_hdf5`);
      const rgbNames = await listNames(join(images, folder), problems, "file");
      const depthNames = new Set(await listNames(geometry, problems, "file"));
      for (const name of rgbNames) {
        const frame = TONEMAP.exec(name)?.[1];
        if (!frame) continue;
        const rgbPath = join(images, folder, name);
        const depthName = `frame.${frame}.depth_meters.hdf5`;
        if (!depthNames.delete(depthName)) {
          problems.push({ path: rgbPath, problem: `no depth file ${depthName} in ${geometry}` });
          continue;
        }
        frames.push({ scene, camera, frame, rgbPath, depthPath: join(geometry, depthName) });
      }
      for (const name of depthNames) {
        if (DEPTH.test(name)) {
          problems.push({ path: join(geometry, name), problem: "depth without a tonemap.jpg" });
        }
      }
    }
  }
  return { frames, problems };
}

/** The float16 distances of a `depth_meters.hdf5`, with their size. */
export async function readHypersimDistance(
  path: string,
): Promise<{ distance: Float16Array; width: number; height: number }> {
  const dataset = await readHdf5Dataset(path);
  const data = distanceValues(dataset, path);
  const distance = data instanceof Float16Array ? data : Float16Array.from(data);
  return { distance, width: dataset.shape[1], height: dataset.shape[0] };
}

/** Planar depth straight from a `depth_meters.hdf5` (no copy of the distances in between). */
export async function readHypersimPlanar(
  path: string,
  camera: HypersimCamera,
): Promise<{ depth: Float32Array; width: number; height: number }> {
  return withHdf5Dataset(await readFileNamed(path), path, "dataset", (dataset) => {
    const [height, width] = dataset.shape;
    return { depth: distanceToPlanar(distanceValues(dataset, path), width, height, camera), width, height };
  });
}

function distanceValues({ data, shape, dtype }: Hdf5Dataset, path: string): Float16Array | Float32Array {
  if (shape.length !== 2 || (dtype !== "f16" && dtype !== "f32")) {
    throw new TrompeError("corrupt", `depth dataset is ${dtype} [${shape}], expected float16 H×W`, {
      subject: path,
    });
  }
  return data as Float16Array | Float32Array;
}

/**
 * Per-pixel factor planar / distance. Official: pixel (r, c) sits at x = c − (W − 1)/2, y = r − (H − 1)/2 on
 * a pinhole of focal f = 886.81·W/1024, so z = d·f/√(x² + y² + f²). Exact: the pixel centre in NDC,
 * u = (c + ½)/W·2 − 1, v = 1 − (r + ½)/H·2, gives the ray M·[u, v, 1]ᵀ and z = d·(−ray_z)/|ray|.
 * Computed in float64, as the reference conversions are.
 *
 * The table is cached per (size, camera) — a dataset is mostly one size and one camera per scene, so reading
 * and writing frames would otherwise redo ~800k square roots each time — and shared: do not modify it.
 */
export function planarFactors(width: number, height: number, camera: HypersimCamera): Float64Array {
  const key = camera === "official"
    ? `${width}x${height} official`
    : `${width}x${height} ${camera.M_cam_from_uv.join(",")}`;
  let factors = factorCache.get(key);
  if (factors) {
    factorCache.delete(key); // most recently used goes last
  } else {
    factors = computePlanarFactors(width, height, camera);
    if (factorCache.size >= FACTOR_CACHE) factorCache.delete(factorCache.keys().next().value!);
  }
  factorCache.set(key, factors);
  return factors;
}

/** A few tables (6 MB each at 1024×768): the official camera, and the current scenes' exact ones. */
const FACTOR_CACHE = 4;
const factorCache = new Map<string, Float64Array>();

function computePlanarFactors(width: number, height: number, camera: HypersimCamera): Float64Array {
  const factors = new Float64Array(width * height);
  if (camera === "official") {
    const f = (OFFICIAL_FOCAL_1024 * width) / 1024;
    for (let r = 0; r < height; r++) {
      const y = r - (height - 1) / 2;
      for (let c = 0; c < width; c++) {
        const x = c - (width - 1) / 2;
        factors[r * width + c] = f / Math.sqrt(x * x + y * y + f * f);
      }
    }
    return factors;
  }
  const m = camera.M_cam_from_uv;
  for (let r = 0; r < height; r++) {
    const v = 1 - ((r + 0.5) / height) * 2;
    for (let c = 0; c < width; c++) {
      const u = ((c + 0.5) / width) * 2 - 1;
      const x = m[0] * u + m[1] * v + m[2];
      const y = m[3] * u + m[4] * v + m[5];
      const z = m[6] * u + m[7] * v + m[8];
      factors[r * width + c] = -z / Math.sqrt(x * x + y * y + z * z);
    }
  }
  return factors;
}

/** Planar depth (metres, float32) from Hypersim distances; NaN stays NaN. */
export function distanceToPlanar(
  distance: Float16Array | Float32Array,
  width: number,
  height: number,
  camera: HypersimCamera,
): Float32Array {
  if (distance.length !== width * height) {
    throw new TrompeError("shape-mismatch", `${distance.length} distances for ${width}×${height}`);
  }
  const factors = planarFactors(width, height, camera);
  const planar = new Float32Array(distance.length);
  if (distance instanceof Float16Array) {
    // Halves read through their bit patterns: Float16Array's own element reads are several times slower.
    const bits = halfBits(distance), values = halfToFloatTable();
    for (let i = 0; i < planar.length; i++) planar[i] = values[bits[i]] * factors[i];
  } else {
    for (let i = 0; i < planar.length; i++) planar[i] = distance[i] * factors[i];
  }
  return planar;
}

/**
 * The inverse of `distanceToPlanar` with the same convention: z / factor rounded to float32 (the value before
 * storage), written into `into` when given — a Float16Array rounds that float32 once more, to what Hypersim
 * stores, with no float32 array in between.
 */
export function planarToDistance<T extends Float32Array | Float16Array = Float32Array>(
  planar: Float32Array,
  width: number,
  height: number,
  camera: HypersimCamera,
  into?: T,
): T {
  if (planar.length !== width * height || (into && into.length !== planar.length)) {
    throw new TrompeError("shape-mismatch", `${planar.length} depths for ${width}×${height}`);
  }
  const factors = planarFactors(width, height, camera);
  const distance = into ?? new Float32Array(planar.length);
  for (let i = 0; i < planar.length; i++) distance[i] = Math.fround(planar[i] / factors[i]);
  return distance as T;
}

/** Pinhole intrinsics of a camera at this size (official: f scaled with the width, centred). */
export function hypersimIntrinsics(width: number, height: number, camera: HypersimCamera): Intrinsics {
  if (camera === "official") {
    const f = (OFFICIAL_FOCAL_1024 * width) / 1024;
    return { fx: f, fy: f, cx: (width - 1) / 2, cy: (height - 1) / 2 };
  }
  // x/−z = (m00·u + m02)/−(m22) with u = 2(c + ½)/W − 1: an affine map from pixel to normalised coordinates
  // (the tilt terms m20, m21 have no pinhole equivalent and are left out of these approximate intrinsics)
  const m = camera.M_cam_from_uv;
  const w = -m[8];
  const fx = (width / 2) * (w / m[0]);
  const fy = (height / 2) * (w / m[4]);
  return {
    fx,
    fy,
    cx: width / 2 - 0.5 - (m[2] / m[0]) * (width / 2),
    cy: height / 2 - 0.5 + (m[5] / m[4]) * (height / 2),
  };
}

/**
 * Hypersim's tone-map operator (ml-hypersim `scene_generate_images_tonemap.py`), in float64: scale so the 90th
 * percentile of brightness 0.3R + 0.59G + 0.11B over pixels with a surface (entity id ≠ −1) becomes 0.8^2.2,
 * then gamma 1/2.2 and clip to [0, 1]. `color` is H×W×3 linear HDR.
 */
export function tonemapHypersim(color: ArrayLike<number>, entityIds: Int32Array): Float32Array {
  const gamma = 1 / 2.2;
  const brightness: number[] = [];
  for (let i = 0; i < entityIds.length; i++) {
    if (entityIds[i] !== -1) {
      brightness.push(0.3 * color[3 * i] + 0.59 * color[3 * i + 1] + 0.11 * color[3 * i + 2]);
    }
  }
  let scale = 1;
  if (brightness.length > 0) {
    brightness.sort((a, b) => a - b);
    // numpy.percentile's default linear interpolation
    const at = ((brightness.length - 1) * 90) / 100;
    const lo = Math.floor(at);
    const hi = Math.min(lo + 1, brightness.length - 1);
    const p90 = brightness[lo] + (brightness[hi] - brightness[lo]) * (at - lo);
    scale = p90 < 0.0001 ? 0 : Math.pow(0.8, 1 / gamma) / p90;
  }
  return Float32Array.from(
    { length: color.length },
    (_, i) => Math.min(1, Math.max(0, Math.pow(Math.max(scale * color[i], 0), gamma))),
  );
}

/** The frame's `final_hdf5/frame.NNNN.color.hdf5` through the tone map, as 8-bit RGB (rounded). */
export async function readHypersimColorTonemapped(frame: HypersimFrame): Promise<RasterU8> {
  const images = join(frame.rgbPath, "..", "..");
  const colorPath = join(images, `scene_${frame.camera}_final_hdf5`, `frame.${frame.frame}.color.hdf5`);
  const idsPath = join(
    images,
    `scene_${frame.camera}_geometry_hdf5`,
    `frame.${frame.frame}.render_entity_id.hdf5`,
  );
  const color = await readHdf5Dataset(colorPath);
  const ids = await readHdf5Dataset(idsPath);
  const [height, width] = color.shape;
  if (color.shape.length !== 3 || color.shape[2] !== 3) {
    throw new TrompeError("corrupt", `colour dataset is [${color.shape}], expected H×W×3`, {
      subject: colorPath,
    });
  }
  if (ids.dtype !== "i32" || ids.shape[0] !== height || ids.shape[1] !== width) {
    throw new TrompeError(
      "shape-mismatch",
      `entity ids are ${ids.dtype} [${ids.shape}], colour is ${height}×${width}`,
      {
        subject: idsPath,
      },
    );
  }
  const mapped = tonemapHypersim(color.data as Float16Array, ids.data as Int32Array);
  return { width, height, channels: 3, data: Uint8Array.from(mapped, (v) => Math.round(v * 255)) };
}

/** How `readHypersimSample` turns Hypersim's distances into planar depth, and where its RGB comes from. */
export interface HypersimReadOptions {
  /** "official": the Depth Anything V2 loader's pinhole; "exact": the scene's own camera. */
  planar: "official" | "exact";
  /** "tonemap" (default): the released JPEG; "color-hdf5": tone-map the HDR colour here. */
  rgbSource?: "tonemap" | "color-hdf5";
  /** Cameras for "exact" (default: the table trompe ships). */
  cameras?: CameraTable;
}

export function hypersimCamera(
  scene: string,
  planar: "official" | "exact",
  cameras?: CameraTable,
): HypersimCamera {
  return planar === "official"
    ? "official"
    : { M_cam_from_uv: sceneCamera(scene, cameras ?? HYPERSIM_CAMERAS) };
}

/**
 * Reads a Hypersim frame as a Sample: the RGB, and its distance-to-camera depth converted to planar depth.
 *
 * @example
 * ```ts
 * import { listHypersimFrames, readHypersimSample } from "@trompe/trompe";
 *
 * const { frames, problems } = await listHypersimFrames("/data/hypersim");
 * const sample = await readHypersimSample(frames[0], { planar: "official" });
 * console.log(sample.id, sample.width, sample.height, `${problems.length} problems in the tree`);
 * ```
 */
export async function readHypersimSample(
  frame: HypersimFrame,
  options: HypersimReadOptions,
): Promise<Sample> {
  const camera = hypersimCamera(frame.scene, options.planar, options.cameras);
  const rgb = options.rgbSource === "color-hdf5"
    ? await readHypersimColorTonemapped(frame)
    : await readImageRgb(frame.rgbPath);
  const { depth, width, height } = await readHypersimPlanar(frame.depthPath, camera);
  if (rgb.width !== width || rgb.height !== height) {
    throw new TrompeError(
      "shape-mismatch",
      `depth is ${width}×${height} but the RGB is ${rgb.width}×${rgb.height}`,
      {
        subject: frame.depthPath,
        hint: `RGB: ${frame.rgbPath}`,
      },
    );
  }
  const valid = new Uint8Array(depth.length);
  for (let i = 0; i < depth.length; i++) valid[i] = depth[i] === depth[i] ? 1 : 0; // NaN ≠ NaN
  return {
    id: hypersimId(frame),
    dataset: "hypersim",
    rgb,
    depth,
    valid,
    width,
    height,
    intrinsics: hypersimIntrinsics(width, height, camera),
    rgbPath: frame.rgbPath,
    depthPath: frame.depthPath,
  };
}

/** Writes planar depth back as Hypersim stores it: float16 distance, dataset `dataset`, via a rename. */
export async function writeHypersimDepth(
  path: string,
  planar: Float32Array,
  width: number,
  height: number,
  camera: HypersimCamera,
): Promise<void> {
  await writeDepthHdf5(path, planarToDistance(planar, width, height, camera), height, width, {
    dtype: "f16",
  });
}

export type HypersimPartition = "train" | "val" | "test";

/**
 * The official v1 split (`metadata_images_split_scene_v1.csv`): frame id (`scene/cam_XX/NNNN`) → partition,
 * for the images included in the public release only.
 */
export async function readHypersimOfficialSplit(path: string): Promise<Map<string, HypersimPartition>> {
  const lines = new TextDecoder().decode(await readFileNamed(path)).split(/\r?\n/).filter((l) => l !== "");
  const header = splitCsvLine(lines[0] ?? "");
  const col = (name: string) => header.indexOf(name);
  const [scene, camera, frameId, included, partition] = [
    col("scene_name"),
    col("camera_name"),
    col("frame_id"),
    col("included_in_public_release"),
    col("split_partition_name"),
  ];
  if ([scene, camera, frameId, included, partition].some((c) => c < 0)) {
    throw new TrompeError("corrupt", "not Hypersim's split CSV (missing columns)", {
      subject: path,
      hint: "pass metadata_images_split_scene_v1.csv",
    });
  }
  const split = new Map<string, HypersimPartition>();
  for (let n = 1; n < lines.length; n++) {
    const cells = splitCsvLine(lines[n]);
    if (cells[included] !== "True") continue;
    const part = cells[partition];
    if (part !== "train" && part !== "val" && part !== "test") {
      throw new TrompeError("corrupt", `line ${n + 1}: partition '${part}'`, { subject: path });
    }
    const id = hypersimId({
      scene: cells[scene],
      camera: cells[camera],
      frame: cells[frameId].padStart(4, "0"),
    });
    split.set(id, part);
  }
  return split;
}
