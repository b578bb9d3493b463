/**
 * Directory scans that keep going: a scene tree with an unreadable folder or a broken file still lists
 * everything else, and says what it skipped and why.
 */
import { asTrompeError, TrompeError } from "../errors.ts";
import type { Sample } from "./sample.ts";

export interface ScanProblem {
  /** The file or folder at fault. */
  path: string;
  problem: string;
}

/** Names in a folder, sorted; a folder that cannot be read is recorded as a problem and lists as empty. */
export async function listNames(
  path: string,
  problems: ScanProblem[],
  kind: "file" | "directory",
): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(path)) {
      if (kind === "file" ? entry.isFile : entry.isDirectory) names.push(entry.name);
    }
  } catch (error) {
    problems.push({ path, problem: asTrompeError(error, path).message });
  }
  return names.sort();
}

/**
 * A listing that found no frame: every task that would otherwise report "0 of 0 done" and succeed fails
 * with this instead, naming where it looked and the first thing that went wrong there.
 */
export function noFramesError(dataset: string, where: string, problems: readonly ScanProblem[]): TrompeError {
  const why = problems[0] ? ` (${problems[0].path}: ${problems[0].problem})` : "";
  return new TrompeError("empty", `no ${dataset} frames found${why}`, {
    subject: where,
    hint: "check --root, --dataset and the split",
  });
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

export interface DepthStats {
  width: number;
  height: number;
  /** Over valid pixels; NaN when none is valid. */
  min: number;
  max: number;
  /** Fraction of pixels not valid. */
  invalid: number;
  /** Valid pixels whose depth is ±infinity (a float16 overflow in Hypersim): valid by the loader's rule. */
  infinite: number;
}

export function depthStats(
  depth: Float32Array,
  valid: Uint8Array,
  width: number,
  height: number,
): DepthStats {
  let [min, max, count, infinite] = [Infinity, -Infinity, 0, 0];
  for (let i = 0; i < depth.length; i++) {
    if (!valid[i]) continue;
    count++;
    if (depth[i] === Infinity || depth[i] === -Infinity) infinite++;
    if (depth[i] < min) min = depth[i];
    if (depth[i] > max) max = depth[i];
  }
  return {
    width,
    height,
    min: count ? min : NaN,
    max: count ? max : NaN,
    invalid: depth.length ? 1 - count / depth.length : 0,
    infinite,
  };
}

export interface FrameStats extends DepthStats {
  id: string;
}

/**
 * Reads every frame and summarises its depth; a frame that fails (truncated file, size mismatch) becomes a
 * problem naming the file at fault and the scan goes on with the rest.
 */
export async function scanFrames<F extends { depthPath: string }>(
  frames: readonly F[],
  read: (frame: F) => Promise<Sample>,
  problems: ScanProblem[],
): Promise<FrameStats[]> {
  const stats: FrameStats[] = [];
  for (const frame of frames) {
    try {
      const s = await read(frame);
      const frameStats = { id: s.id, ...depthStats(s.depth, s.valid, s.width, s.height) };
      stats.push(frameStats);
      if (frameStats.infinite > 0) {
        problems.push({
          path: frame.depthPath,
          problem: `${frameStats.infinite} valid pixels hold infinite depth (they pass "valid = not NaN")`,
        });
      }
    } catch (error) {
      const e = asTrompeError(error, frame.depthPath);
      problems.push({ path: e.subject ?? frame.depthPath, problem: e.message });
    }
  }
  return stats;
}
