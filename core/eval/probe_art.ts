/**
 * The probe's art and its depth-range levels: pictures (a pool, or another dataset's frames as "wall
 * paintings") scored by how much depth their own content shows, cut into levels from flattest-looking to
 * deepest-looking, with a blank canvas as level 0, the control (see core/eval/probe.ts).
 */
import { listPool, readPoolImage } from "../augment/art_pool.ts";
import { adapterFor } from "../data/adapters.ts";
import { DATASET_NAMES, type DatasetName } from "../data/datasets.ts";
import type { FrameRef } from "../data/frame_paths.ts";
import { preset } from "../augment/presets.ts";
import { type Content, screen } from "../augment/sources.ts";
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { DepthEstimator } from "../nn/estimator.ts";
export interface ArtPiece extends Content {
  /** p95 / p5 of the piece's own depth (0 when it has none): how much depth its content shows. */
  readonly depthRatio: number;
  /**
   * The piece's own planar depth (m) and its validity, at the size of `rgb`, when it is known (dataset frames):
   * what a model fooled by the picture would see, warped into the paste to measure `followsArt`.
   */
  readonly depth?: Float32Array;
  readonly valid?: Uint8Array;
}

export interface ArtSet {
  readonly dir: string;
  /** "pool": plain pictures, scored by a model; a dataset name: frames, scored by ground truth. */
  readonly kind: "pool" | DatasetName;
  readonly pieces: readonly ArtPiece[];
  /** What scored the pieces' depth ratios: "ground truth", a model's name, or the scores file they came from. */
  readonly scoredBy: string;
}

/** The pieces' depth ratios as a probe writes them (art_scores.json), to fix the levels of a later probe. */
export interface ArtScores {
  readonly scoredBy: string;
  readonly pieces: Readonly<Record<string, number>>;
}

export function artScores(art: ArtSet): ArtScores {
  return {
    scoredBy: art.scoredBy,
    pieces: Object.fromEntries(art.pieces.map((p) => [p.name, p.depthRatio])),
  };
}

/** An earlier probe's art_scores.json (`--art-scores`). */
export async function readArtScores(path: string): Promise<ArtScores> {
  let json: Partial<ArtScores>;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new TrompeError("not-found", "cannot read the art scores (a probe's art_scores.json)", {
      subject: path,
      cause: error,
    });
  }
  const pieces = json.pieces ?? {};
  if (typeof json.scoredBy !== "string" || Object.values(pieces).some((v) => typeof v !== "number")) {
    throw new TrompeError("corrupt", "is not a probe's art_scores.json ({scoredBy, pieces: {name: ratio}})", {
      subject: path,
    });
  }
  return { scoredBy: `${json.scoredBy} (from ${path})`, pieces };
}

export interface ArtLevel {
  readonly index: number;
  /** For legends: the level's depth-ratio span. */
  readonly name: string;
  readonly pieces: readonly ArtPiece[];
  readonly depthRatio: readonly [number, number];
}

const SCREENING = preset("trompe").art;

/** The art of a folder, read and checked but not yet scored: its pictures, or a dataset tree's frame list. */
export type OpenedArt =
  | { readonly dir: string; readonly kind: "pool"; readonly pictures: readonly Content[] }
  | { readonly dir: string; readonly kind: DatasetName; readonly frames: readonly FrameRef[] };

/**
 * Opens `--art` before any model runs: JPEG/PNG pictures directly in `dir` (a pool, as `deno task augment --art`
 * takes, each decoded now so a broken one is named before any work), or else the frames of a Hypersim or
 * vKITTI2 tree; a folder with neither is called empty.
 */
export async function openArt(dir: string): Promise<OpenedArt> {
  const names = listPool(dir);
  if (names.length > 0) {
    const pictures: Content[] = [];
    for (const name of names) pictures.push({ name, rgb: await readPoolImage(dir, name) });
    return { dir, kind: "pool", pictures };
  }
  for (const dataset of DATASET_NAMES) {
    const { frames } = await adapterFor(dataset).list(dir);
    if (frames.length > 0) return { dir, kind: dataset, frames };
  }
  throw new TrompeError(
    "empty",
    "the art folder holds no JPEG or PNG image and no Hypersim or vKITTI2 frames",
    {
      subject: dir,
      hint: "--art takes a folder of pictures, or a dataset tree whose frames become wall paintings",
    },
  );
}

/**
 * Scores opened art by the depth its content shows. Dataset frames are scored by their ground truth; pool
 * pictures carry no depth: `scores` (an earlier probe's art_scores.json) gives their depth ratios, so probes
 * of different models cut the same levels; without it `estimator` scores them.
 */
export async function scoreArt(
  art: OpenedArt,
  estimator: DepthEstimator,
  scores?: ArtScores,
): Promise<ArtSet> {
  const { dir } = art;
  if (art.kind === "pool") {
    const pieces: ArtPiece[] = [];
    for (const { name, rgb } of art.pictures) {
      if (scores) {
        const ratio = scores.pieces[name];
        if (ratio === undefined) {
          throw new TrompeError("bad-argument", `has no score for the picture ${name}`, {
            subject: "--art-scores",
            hint: "use the art_scores.json of a probe of this same art folder",
          });
        }
        pieces.push({ name, rgb, depthRatio: ratio });
        continue;
      }
      const prediction = await estimator.predict(rgb);
      const depth = estimator.kind === "depth" ? prediction.data : prediction.data.map((d) => 1 / d);
      const valid = depth.map((z) => (Number.isFinite(z) && z > 0 ? 1 : 0));
      const ratio = screen({ name, rgb, depth, valid: Uint8Array.from(valid) }, SCREENING).depthRatio;
      pieces.push({ name, rgb, depthRatio: ratio });
    }
    return { dir, kind: "pool", pieces, scoredBy: scores?.scoredBy ?? estimator.name };
  }
  const adapter = adapterFor(art.kind);
  const pieces: ArtPiece[] = [];
  for (const ref of art.frames) {
    const sample = await adapter.read(dir, ref);
    const { depthRatio } = screen({ name: ref.rgb, ...sample }, SCREENING);
    pieces.push({ name: ref.rgb, rgb: sample.rgb, depthRatio, depth: sample.depth, valid: sample.valid });
  }
  return { dir, kind: art.kind, pieces, scoredBy: "ground truth" };
}

/** The art in `dir`, opened and scored (openArt, then scoreArt). */
export async function loadArt(dir: string, estimator: DepthEstimator, scores?: ArtScores): Promise<ArtSet> {
  return scoreArt(await openArt(dir), estimator, scores);
}

/** The pieces ranked by depth ratio and cut into `count` levels of (nearly) equal size. */
export function artLevels(art: ArtSet, count: number): ArtLevel[] {
  const n = art.pieces.length;
  if (!Number.isInteger(count) || count < 1) {
    throw new TrompeError("bad-argument", `${count} is not a positive number of levels`, {
      subject: "--levels",
    });
  }
  if (n < count) {
    throw new TrompeError(
      "bad-argument",
      `holds ${n} pieces of art, fewer than the ${count} levels asked for`,
      {
        subject: art.dir,
        hint: "add pictures or lower --levels",
      },
    );
  }
  const ranked = [...art.pieces].sort((a, b) => a.depthRatio - b.depthRatio || (a.name < b.name ? -1 : 1));
  return Array.from({ length: count }, (_, index) => {
    const pieces = ranked.slice(Math.floor((index * n) / count), Math.floor(((index + 1) * n) / count));
    const span = [pieces[0].depthRatio, pieces[pieces.length - 1].depthRatio] as const;
    const show = (r: number) => r.toFixed(r < 10 ? 2 : 1);
    return { index, name: `depth ×${show(span[0])}–${show(span[1])}`, pieces, depthRatio: span };
  });
}

export const BLANK_NAME = "blank canvas";

/**
 * The control: a uniform grey picture pasted with the same rotation, size and border draws as the art. A model that sees
 * depth in a region regardless of what is painted there (its prior over where walls curve, the border's edge)
 * is "fooled" by the blank too; what the art adds above the blank is what its content does.
 *
 * The augmenter's placement depends on the picture's aspect ratio (width / height), so a blank is the control
 * of an art paste only when it has the art's exact size ratio: `blankLevel(width, height)` makes one (the probe
 * pastes one per aspect ratio its art pieces have, and pairs each art paste with the blank of identical pose).
 */
export function blankLevel(width = 16, height = width): ArtLevel {
  const rgb: RasterU8 = { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(128) };
  return {
    index: 0,
    name: `${BLANK_NAME} (control)`,
    pieces: [{ name: BLANK_NAME, rgb, depthRatio: 1 }],
    depthRatio: [1, 1],
  };
}

/** The commonest picture size among the pieces (ties: the first met): the blank control's default size. */
export function commonSize(pieces: readonly ArtPiece[]): [number, number] {
  const counts = new Map<string, { size: [number, number]; n: number }>();
  for (const p of pieces) {
    const key = `${p.rgb.width}x${p.rgb.height}`;
    const c = counts.get(key) ?? { size: [p.rgb.width, p.rgb.height] as [number, number], n: 0 };
    c.n++;
    counts.set(key, c);
  }
  let best: { size: [number, number]; n: number } | null = null;
  for (const c of counts.values()) if (!best || c.n > best.n) best = c;
  return best ? best.size : [16, 16];
}

/** The levels a probe pastes: the blank control as level 0, then the art's levels from the flattest-looking. */
export function probeLevels(art: ArtSet, count: number): ArtLevel[] {
  return [
    blankLevel(...commonSize(art.pieces)),
    ...artLevels(art, count).map((level) => ({ ...level, index: level.index + 1 })),
  ];
}
