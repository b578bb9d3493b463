/**
 * Virtual KITTI 2 (`<root>/SceneXX/<variation>/frames/{rgb,depth}/Camera_C/{rgb,depth}_NNNNN.{jpg,png}`):
 * depth is a uint16 PNG in centimetres with 65535 for sky. As the official Depth Anything V2 loader: metres =
 * cm / 100, valid = depth ≤ max depth (80 m), so sky is never valid.
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { readFileNamed } from "../io/atomic.ts";
import { readImageRgb } from "../io/image.ts";
import { readPng, writePng } from "../io/png.ts";
import type { Intrinsics, Sample } from "./sample.ts";
import { listNames, type ScanProblem } from "./scan.ts";

/** One Virtual KITTI 2 frame: scene, variation, camera, frame number and the paths of its files. */
export interface Vkitti2Frame {
  scene: string;
  variation: string;
  camera: number;
  /** The frame number as in the file names (`00000`). */
  frame: string;
  rgbPath: string;
  depthPath: string;
  /** `<variation>/intrinsic.txt` */
  intrinsicPath: string;
}

export const SKY_CM = 65535;

const SCENE = /^Scene\d+$/;
const CAMERA = /^Camera_(\d+)$/;
const RGB = /^rgb_(\d+)\.jpg$/;
const DEPTH = /^depth_(\d+)\.png$/;

export function vkitti2Id(frame: Pick<Vkitti2Frame, "scene" | "variation" | "camera" | "frame">): string {
  return `${frame.scene}/${frame.variation}/Camera_${frame.camera}/${frame.frame}`;
}

/** Every (RGB, depth) pair under `root`; one without the other is recorded as a problem. */
export async function listVkitti2Frames(
  root: string,
): Promise<{ frames: Vkitti2Frame[]; problems: ScanProblem[] }> {
  const problems: ScanProblem[] = [];
  const frames: Vkitti2Frame[] = [];
  for (const scene of await listNames(root, problems, "directory")) {
    if (!SCENE.test(scene)) continue; // e.g. splits/
    for (const variation of await listNames(join(root, scene), problems, "directory")) {
      const base = join(root, scene, variation);
      const rgbRoot = join(base, "frames", "rgb");
      for (const cameraDir of await listNames(rgbRoot, problems, "directory")) {
        const camera = CAMERA.exec(cameraDir)?.[1];
        if (camera === undefined) continue;
        const depthDir = join(base, "frames", "depth", cameraDir);
        const depthNames = new Set(await listNames(depthDir, problems, "file"));
        for (const name of await listNames(join(rgbRoot, cameraDir), problems, "file")) {
          const frame = RGB.exec(name)?.[1];
          if (frame === undefined) continue;
          const rgbPath = join(rgbRoot, cameraDir, name);
          const depthName = `depth_${frame}.png`;
          if (!depthNames.delete(depthName)) {
            problems.push({ path: rgbPath, problem: `no depth file ${depthName} in ${depthDir}` });
            continue;
          }
          frames.push({
            scene,
            variation,
            camera: Number(camera),
            frame,
            rgbPath,
            depthPath: join(depthDir, depthName),
            intrinsicPath: join(base, "intrinsic.txt"),
          });
        }
        for (const name of depthNames) {
          if (DEPTH.test(name)) {
            problems.push({ path: join(depthDir, name), problem: "depth without an RGB image" });
          }
        }
      }
    }
  }
  return { frames, problems };
}

/** `intrinsic.txt`: a header, then `frame cameraID fx fy cx cy` per line; keyed `"frame camera"`. */
export function parseIntrinsics(text: string, source: string): Map<string, Intrinsics> {
  const table = new Map<string, Intrinsics>();
  const lines = text.split(/\r?\n/);
  if (!/^frame\s+cameraID/.test(lines[0] ?? "")) {
    throw new TrompeError("corrupt", "no 'frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]' header", {
      subject: source,
    });
  }
  for (let n = 1; n < lines.length; n++) {
    if (lines[n].trim() === "") continue;
    const v = lines[n].trim().split(/\s+/).map(Number);
    if (v.length !== 6 || v.some((x) => !Number.isFinite(x))) {
      throw new TrompeError("corrupt", `line ${n + 1}: expected 6 numbers, got '${lines[n].trim()}'`, {
        subject: source,
      });
    }
    table.set(`${v[0]} ${v[1]}`, { fx: v[2], fy: v[3], cx: v[4], cy: v[5] });
  }
  return table;
}

export async function readIntrinsics(path: string): Promise<Map<string, Intrinsics>> {
  return parseIntrinsics(new TextDecoder().decode(await readFileNamed(path)), path);
}

/** Centimetres from a vKITTI2 depth PNG (must be 16-bit gray). */
export async function readVkitti2Centimetres(
  path: string,
): Promise<{ cm: Uint16Array; width: number; height: number }> {
  const png = await readPng(path);
  if (!(png.data instanceof Uint16Array) || png.channels !== 1) {
    throw new TrompeError("corrupt", `depth PNG is ${png.channels}-channel 8-bit, expected 16-bit gray`, {
      subject: path,
    });
  }
  return { cm: png.data, width: png.width, height: png.height };
}

/** Reads a Virtual KITTI 2 frame as a Sample (centimetres to metres; sky and beyond `maxDepth` invalid). */
export async function readVkitti2Sample(
  frame: Vkitti2Frame,
  options: { maxDepth?: number; intrinsics?: Map<string, Intrinsics> } = {},
): Promise<Sample> {
  const { maxDepth = 80 } = options;
  const rgb = await readImageRgb(frame.rgbPath);
  const { cm, width, height } = await readVkitti2Centimetres(frame.depthPath);
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
  const table = options.intrinsics ?? await readIntrinsics(frame.intrinsicPath);
  const intrinsics = table.get(`${Number(frame.frame)} ${frame.camera}`);
  if (!intrinsics) {
    throw new TrompeError(
      "not-found",
      `no intrinsics for frame ${Number(frame.frame)}, camera ${frame.camera}`,
      {
        subject: frame.intrinsicPath,
      },
    );
  }
  const depth = new Float32Array(cm.length);
  const valid = new Uint8Array(cm.length);
  for (let i = 0; i < cm.length; i++) {
    depth[i] = cm[i] / 100;
    valid[i] = cm[i] !== SKY_CM && depth[i] <= maxDepth ? 1 : 0;
  }
  return {
    id: vkitti2Id(frame),
    dataset: "vkitti2",
    rgb,
    depth,
    valid,
    width,
    height,
    intrinsics,
    rgbPath: frame.rgbPath,
    depthPath: frame.depthPath,
  };
}

/**
 * Metres → the uint16 centimetres vKITTI2 stores, rounded. 0 cm is a depth like any other (the reader keeps it
 * valid), so only what is not a depth — NaN, negative, or beyond 655.34 m — becomes 65535, "no depth" (sky).
 */
export function metresToCentimetres(metres: Float32Array): Uint16Array {
  const cm = new Uint16Array(metres.length);
  for (let i = 0; i < metres.length; i++) {
    const value = Math.round(metres[i] * 100);
    // NaN fails both comparisons, so it lands on SKY_CM too; −0 (from −0.004 m) is 0 cm.
    cm[i] = value >= 0 && value < SKY_CM ? value : SKY_CM;
  }
  return cm;
}

export async function writeVkitti2Depth(path: string, metres: Float32Array, width: number, height: number) {
  if (metres.length !== width * height) {
    throw new TrompeError("shape-mismatch", `${metres.length} depths for ${width}×${height}`, {
      subject: path,
    });
  }
  await writePng(path, { width, height, channels: 1, data: metresToCentimetres(metres) });
}
