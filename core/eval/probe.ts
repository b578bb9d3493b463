/**
 * The probe: how large, and how deep-looking, must pasted art be before a model sees depth in it? Pictures are
 * pasted into real frames at a series of sizes (share of the frame's area) and depth-range levels, the model
 * runs on each pasted frame, and each paste is scored with the flat-content metric (flatness error of the
 * prediction's inverse depth over the pasted region; fooled above the threshold, DESIGN.md §Flat-content).
 *
 * The depth-range axis is the art's own content. A picture on a wall projects to the same image wherever along
 * the viewing rays its plane sits, so "how far in front of the wall" changes the ground truth but not one pixel
 * the model sees; what the model reacts to is the depth its content shows. Each piece of art is scored by the
 * p95/p5 ratio of its own depth — the ground truth when the art is a Hypersim or vKITTI2 tree ("wall
 * paintings" of other frames), else the probed model's depth of the picture alone (a relative model's
 * disparity read as 1/depth, which is only good for ranking, and ranking is all it is used for) — and the
 * pieces are split by that score into equal-sized levels, from the flattest-looking to the deepest-looking
 * (the deepest are those with foreground objects against a far background). A blank canvas pasted the same
 * way is level 0, the control every art level is read against.
 *
 * Pasting is core/augment's: `augmentFrame` with a probe recipe (art only, quadrilaterals, mild poses, the
 * trompe preset's borders, plane depth), so the probe's pastes are the training set's pastes. Each frame and
 * repeat draws its rotation, border, position and art index from the same random streams at every size and
 * level, so along a curve mostly the size changes and across curves mostly the art (the picture's aspect
 * ratio follows the art, and a position that no longer fits the frame is drawn again).
 *
 * Pairs. The augmenter's placement draws depend on the picture's aspect ratio, and it re-draws a placement whose
 * ground truth would be implausible, so the blank is pasted at the art's own size ratio (one blank per ratio
 * the art pieces of a trial have): with the same frame, trial, size and ratio every draw is the same, and the
 * poses are compared (`pose` in each record) before an art paste and a blank are called a pair. A paste the
 * augmenter gives up on is a reject, and then so is its blank (the same draws fail the same way).
 *
 * Follows the picture. When the art is a dataset frame its own depth is known: it is warped into the paste with
 * the compositor's homography and texture mapping, and `followsArt` is the correlation of the prediction's
 * non-planar relief with the picture's (core/eval/flat.ts `followsPicture`). A paste is fooled in the full
 * sense when its flatness error exceeds the threshold and it follows the picture (followsArt ≥
 * followThreshold); the blank in the same pose is judged against the same picture's depth (`blankFollowsArt`).
 * The paired reading and the study's acceptance criteria are core/eval/probe_paired.ts.
 *
 * The art and its levels are core/eval/probe_art.ts; the figure and report.md, core/eval/probe_report.ts.
 */
import { join } from "node:path";
import { adapterFor } from "../data/adapters.ts";
import { type DatasetName, DEPTH_RANGE } from "../data/datasets.ts";
import { preset } from "../augment/presets.ts";
import { parseRecipe, type Recipe } from "../augment/recipe.ts";
import { apply, invert, planeToImage } from "../augment/homography.ts";
import { augmentFrame, MASK, type RegionRecord } from "../augment/sample_augment.ts";
import { shapeSdf } from "../augment/shapes.ts";
import type { Sources } from "../augment/sources.ts";
import { Progress, type ProgressOptions } from "../cli/progress.ts";
import type { Sample } from "../data/sample.ts";
import { asTrompeError, TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { jsonText } from "../io/json.ts";
import { writePng } from "../io/png.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { DepthEstimator } from "../nn/estimator.ts";
import { depthAtGroundTruth } from "./evaluate.ts";
import { flatRegions, type Follows, followsPicture, labelRegions, type RegionResult } from "./flat.ts";
import type { DepthRange } from "./metrics.ts";
import { type ArtLevel, type ArtPiece, type ArtSet, blankLevel, probeLevels } from "./probe_art.ts";
import { type PairedCell, pairedCells, type ProbeCriteria, probeCriteria } from "./probe_paired.ts";
import { probeFigure, probeReport } from "./probe_report.ts";

/** Default pasted areas (share of the frame): from a plaque to a picture filling a third of the view. */
export const DEFAULT_SIZES = [0.01, 0.02, 0.05, 0.1, 0.2, 0.35] as const;

/**
 * The augmentation recipe of one probe size: art only, one bordered-or-not quadrilateral at exactly `size`
 * of the frame, poses milder than training's so the measured area stays near the requested one.
 */
export function probeRecipe(size: number): Recipe {
  const trompe = preset("trompe");
  return parseRecipe({
    ...trompe,
    name: `probe-${size}`,
    kinds: { mirror: 0, art: 1 },
    clean: 0,
    negatives: 0,
    shapes: { quad: 1, ellipse: 0, roundrect: 0, polygon: 0 },
    area: [size, size],
    rotation: { yaw: [-20, 20], pitch: [-10, 10], roll: [-5, 5] },
    art: { ...trompe.art, source: "pool" },
  }, `probe recipe (area ${size})`);
}

export interface Pasted {
  readonly rgb: RasterU8;
  /** Ground truth with the pasted region rewritten to the flat surface it now is. */
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  /** 0 untouched, 2 art. */
  readonly mask: Uint8Array;
  /** The piece pasted. */
  readonly art: string;
  /** Labelled pixels as a share of the frame (the compositor's coverage, after perspective and clipping). */
  readonly area: number;
  /** The augmenter's record of the paste: shape, border, placement (its homography), corners. */
  readonly region: RegionRecord;
}

/** One paste: `frame` with a piece of `level` at `size`; `trial` (frame and repeat) seeds pose and art. */
export async function pasteArt(
  frame: Sample,
  trial: string,
  level: ArtLevel,
  size: number,
  seed: number,
): Promise<Pasted> {
  const sources: Sources = {
    poolSize: level.pieces.length,
    pool: (i) => Promise.resolve(level.pieces[i]),
    frameCount: 0,
    frame: () => Promise.reject(new Error("the probe pastes from its art levels only")),
  };
  const augmented = await augmentFrame({ ...frame, id: trial, index: 0 }, probeRecipe(size), seed, sources);
  const region = augmented.record.regions[0];
  if (!region) {
    // The augmenter found no spot whose ground truth would be plausible (augmented.record.skipped).
    throw new TrompeError("unsupported", augmented.record.skipped ?? "no region was pasted", {
      subject: trial,
      hint: `a paste of ${size} of the frame; the trial is left out`,
    });
  }
  return {
    rgb: augmented.rgb,
    depth: augmented.depth,
    valid: augmented.valid,
    mask: augmented.mask,
    art: region.source?.type === "pool" ? region.source.name : "?",
    area: region.area,
    region,
  };
}

export interface ProbeOptions {
  readonly dataset: DatasetName;
  readonly root: string;
  readonly split?: string;
  readonly art: ArtSet;
  readonly estimator: DepthEstimator;
  readonly out: string;
  readonly sizes?: readonly number[];
  readonly levels?: number;
  /** Pastes per frame, size and level, each with its own pose and art. */
  readonly repeats?: number;
  readonly limit?: number;
  readonly seed?: number;
  readonly threshold?: number;
  /** followsArt at or above which a paste follows the picture (default 0.5; see `fooledByArt`). */
  readonly followThreshold?: number;
  readonly range?: Required<DepthRange>;
  readonly progress?: ProgressOptions;
}

/** Where a paste sat: equal for an art paste and its blank exactly when the blank is its control. */
export interface Pose {
  readonly yaw: number;
  readonly pitch: number;
  readonly roll: number;
  readonly centre: readonly [number, number];
  /** The picture's size on its plane and the border's width (plane units). */
  readonly width: number;
  readonly height: number;
  readonly border: number;
}

/** One line of probe.jsonl. */
export interface ProbeRecord {
  readonly frame: string;
  readonly repeat: number;
  readonly level: number;
  readonly size: number;
  readonly area: number;
  readonly art: string;
  readonly artDepthRatio: number;
  /** Of the largest pasted component (a paste clipped by the frame edge can split). */
  readonly flatnessError: number;
  readonly fooled: boolean;
  readonly absRel: number | null;
  /** The model's flatness error over the same pixels of the frame without the paste (its wall as it was). */
  readonly flatnessErrorBefore: number;
  readonly seconds: number;
  /** The pasted picture's width / height (the augmenter's placement depends on it). */
  readonly aspect?: number;
  readonly pose?: Pose | null;
  /** Art: a blank was probed in the identical pose; blank: some art paste pairs with it. */
  readonly paired?: boolean;
  /**
   * Art with known depth: correlation of the prediction's relief (residual from its plane fit) with the
   * picture's own inverse-depth relief warped into the paste, over the picture's pixels (null otherwise).
   */
  readonly followsArt?: number | null;
  /** Regression slope of the same (1 = the picture's relief at full strength). */
  readonly followsArtSlope?: number | null;
  /** The picture's own relief over the paste: RMS relative residual of its warped inverse depth. */
  readonly artRelief?: number | null;
  /** The paired blank's prediction against this picture's depth: following by chance, the control. */
  readonly blankFollowsArt?: number | null;
  /** fooled AND followsArt ≥ the follow threshold; null where the picture's depth is unknown. */
  readonly fooledByArt?: boolean | null;
}

export interface ProbeCell {
  readonly level: number;
  readonly size: number;
  readonly trials: number;
  readonly meanArea: number | null;
  readonly fooled: number;
  readonly fooledRate: number | null;
  readonly meanFlatnessError: number | null;
  /** The median of the same: one paste's outlier does not move it. */
  readonly medianFlatnessError?: number | null;
  /** The same pixels without the paste: the model's own non-flatness there, the floor for the error above. */
  readonly meanFlatnessErrorBefore: number | null;
  readonly meanAbsRel: number | null;
  /** Mean followsArt over the cell's pastes that have one (null for the blank and pictures without depth). */
  readonly meanFollowsArt?: number | null;
}

export interface ProbeSummary {
  readonly model: string;
  readonly kind: DepthEstimator["kind"];
  readonly dataset: DatasetName;
  readonly root: string;
  readonly split: string | null;
  readonly art: {
    readonly dir: string;
    readonly kind: ArtSet["kind"];
    readonly pieces: number;
    /** What cut the levels: ground truth, or the model (or scores file) that scored the pictures. */
    readonly scoredBy: string;
  };
  readonly levels: readonly {
    readonly index: number;
    readonly name: string;
    readonly depthRatio: readonly [number, number];
    readonly pieces: readonly string[];
  }[];
  readonly sizes: readonly number[];
  readonly repeats: number;
  readonly seed: number;
  readonly threshold: number;
  readonly followThreshold?: number;
  readonly frames: { readonly listed: number; readonly probed: number; readonly failed: number };
  readonly trials: number;
  readonly cells: readonly ProbeCell[];
  /** Per art level and size: art against the blank in the identical pose (core/eval/probe_paired.ts). */
  readonly paired?: readonly PairedCell[];
  /** The study's acceptance criteria, each with its value, target and whether it is met. */
  readonly criteria?: ProbeCriteria;
  readonly files: {
    readonly records: string;
    readonly rejects: string;
    readonly chart: string;
    readonly report: string;
  };
}

export async function runProbe(options: ProbeOptions): Promise<ProbeSummary> {
  const { dataset, root, estimator, out, art } = options;
  const sizes = [...(options.sizes ?? DEFAULT_SIZES)];
  for (const size of sizes) {
    if (!(size >= 0.001 && size <= 0.9)) {
      throw new TrompeError("bad-argument", `size ${size} is outside 0.001–0.9 of the frame`, {
        subject: "--sizes",
      });
    }
  }
  const repeats = options.repeats ?? 1;
  const seed = options.seed ?? 0;
  const threshold = options.threshold ?? 0.02;
  const followThreshold = options.followThreshold ?? 0.5;
  const range = options.range ?? DEPTH_RANGE[dataset];
  const levels = probeLevels(art, options.levels ?? 3);
  const adapter = adapterFor(dataset);
  const listed = await adapter.list(root, options.split);
  const frames = listed.frames.slice(0, options.limit ?? listed.frames.length);
  if (frames.length === 0) {
    throw new TrompeError("not-found", `no ${dataset} frames found`, {
      subject: options.split ?? root,
      hint: `--root must be a ${dataset} tree (or pass --dataset)`,
    });
  }

  const records: ProbeRecord[] = [];
  const blanks = new Map<string, ArtLevel>();
  const common = levels[0].pieces[0].rgb;
  blanks.set(`${common.width}x${common.height}`, levels[0]);
  const rejects: Record<string, unknown>[] = listed.problems.map((p) => ({
    id: p.path,
    stage: "list",
    error: p.problem,
  }));
  const perFrame = repeats * levels.length * sizes.length;
  const progress = new Progress("probe", frames.length * perFrame, { unit: "pastes", ...options.progress });
  let probed = 0;
  for (const ref of frames) {
    let frame: Sample;
    try {
      frame = await adapter.read(root, ref);
    } catch (error) {
      rejects.push({ id: ref.rgb, stage: "read", error: asTrompeError(error, ref.rgb).oneLine() });
      progress.tick(perFrame, true);
      continue;
    }
    let clean: Float32Array;
    try {
      clean = await predictDepth(frame, ref.rgb, options.estimator, range);
    } catch (error) {
      rejects.push({ id: ref.rgb, stage: "predict", error: asTrompeError(error, ref.rgb).oneLine() });
      progress.tick(perFrame, true);
      continue;
    }
    let frameOk = true;
    const mine: ProbeRecord[] = [];
    const context = { frame, clean, id: ref.rgb, range, seed, threshold, followThreshold };
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const size of sizes) {
        const trial = `${ref.rgb}#${repeat}`;
        const reject = (level: number, error: unknown) => {
          frameOk = false;
          const e = asTrompeError(error, ref.rgb);
          rejects.push({ id: ref.rgb, repeat, level, size, stage: "probe", error: e.oneLine() });
        };
        const arts: Trial[] = [];
        for (const level of levels.slice(1)) {
          try {
            arts.push(await probeOne({ ...context, repeat }, trial, level, size, options.estimator));
            progress.tick();
          } catch (error) {
            reject(level.index, error);
            progress.tick(1, true);
          }
        }
        // One blank per picture size among the art pasted (the control must share the art's aspect ratio).
        const blankSizes = new Map<string, [number, number]>();
        for (const a of arts) blankSizes.set(a.sizeKey, a.texture);
        if (blankSizes.size === 0) {
          const piece = levels[0].pieces[0].rgb;
          blankSizes.set(`${piece.width}x${piece.height}`, [piece.width, piece.height]);
        }
        let blankFailed = false;
        for (const [key, [w, h]] of blankSizes) {
          const level = blanks.get(key) ?? blankLevel(w, h);
          blanks.set(key, level);
          try {
            const blank = await probeOne({ ...context, repeat }, trial, level, size, options.estimator);
            const same = arts.filter((a) => a.sizeKey === key && samePose(a.record.pose, blank.record.pose));
            for (const a of same) {
              const follows = a.piece?.depth
                ? followsOf(blank.depth, a.piece, a.pasted.region, a.indices, frame.width)
                : null;
              a.record = { ...a.record, paired: true, blankFollowsArt: follows?.correlation ?? null };
            }
            mine.push({ ...blank.record, paired: same.length > 0 });
          } catch (error) {
            blankFailed = true;
            reject(0, error);
          }
        }
        progress.tick(1, blankFailed);
        for (const a of arts) mine.push(a.record);
      }
    }
    // probe.jsonl's order: by repeat, level and size, as the cells are read.
    const order = (r: ProbeRecord) =>
      (r.repeat * levels.length + r.level) * sizes.length + sizes.indexOf(r.size);
    records.push(
      ...mine.map((r, i) => ({ r, i })).sort((a, b) => order(a.r) - order(b.r) || a.i - b.i).map((x) => x.r),
    );
    if (frameOk) probed++;
  }
  const finishLine = progress.finish();

  const files = {
    records: "probe.jsonl",
    rejects: "rejects.jsonl",
    chart: "probe.png",
    report: "report.md",
  };
  await writeTextFileAtomic(join(out, files.rejects), rejects.map((r) => JSON.stringify(r) + "\n").join(""));
  if (records.length === 0) {
    throw new TrompeError("corrupt", "no paste could be probed", {
      subject: join(out, files.rejects),
      hint: "every frame failed; the rejects say why",
    });
  }
  const summary: ProbeSummary = {
    model: estimator.name,
    kind: estimator.kind,
    dataset,
    root,
    split: options.split ?? null,
    art: { dir: art.dir, kind: art.kind, pieces: art.pieces.length, scoredBy: art.scoredBy },
    levels: levels.map((l) => ({
      index: l.index,
      name: l.name,
      depthRatio: l.depthRatio,
      pieces: l.pieces.map((p) => p.name),
    })),
    sizes,
    repeats,
    seed,
    threshold,
    frames: { listed: frames.length, probed, failed: frames.length - probed },
    trials: records.length,
    followThreshold,
    cells: probeCells(records, levels.length, sizes),
    paired: pairedCells(records, levels.length, sizes, followThreshold),
    criteria: probeCriteria(records, sizes, threshold, followThreshold),
    files,
  };
  await writeTextFileAtomic(
    join(out, files.records),
    records.map((r) => jsonText(r) + "\n").join(""),
  );
  await writeTextFileAtomic(join(out, "summary.json"), jsonText(summary, 2) + "\n");
  await writePng(join(out, files.chart), probeFigure(summary));
  await writeTextFileAtomic(join(out, files.report), probeReport(summary, finishLine));
  return summary;
}

interface FrameContext {
  readonly frame: Sample;
  /** The model's depth of the frame without any paste. */
  readonly clean: Float32Array;
  readonly id: string;
  readonly repeat: number;
  readonly range: Required<DepthRange>;
  readonly seed: number;
  readonly threshold: number;
  readonly followThreshold: number;
}

/** The prediction as metric depth at the frame's size (relative models aligned as the evaluation does). */
async function predictDepth(
  frame: Sample,
  id: string,
  estimator: DepthEstimator,
  range: Required<DepthRange>,
): Promise<Float32Array> {
  const prediction = await estimator.predict(frame.rgb);
  return depthAtGroundTruth({ ...frame, id }, prediction, estimator.kind, range);
}

/** The largest art region's flat metrics for `depth` (a paste clipped by the frame edge can split). */
function largestArtRegion(
  depth: Float32Array,
  gt: Float32Array,
  valid: Uint8Array,
  mask: Uint8Array,
  frame: Sample,
  threshold: number,
): RegionResult {
  const regions = flatRegions(depth, gt, valid, mask, frame.width, frame.height, { threshold, kind: "depth" })
    .filter((r) => r.label === MASK.art);
  if (regions.length === 0) {
    throw new TrompeError("corrupt", "the paste left no region large enough to score");
  }
  return regions.reduce((a, b) => (b.pixels > a.pixels ? b : a));
}

/** One paste probed, with what pairing it to its blank needs. */
interface Trial {
  record: ProbeRecord;
  /** The prediction of the pasted frame. */
  readonly depth: Float32Array;
  readonly pasted: Pasted;
  /** The piece pasted (undefined only if the augmenter named one the level does not hold). */
  readonly piece: ArtPiece | undefined;
  /** Pixels of the scored (largest) art component. */
  readonly indices: Int32Array;
  /** The picture's size, and as a key: a blank of the same size ratio is pasted in the same pose. */
  readonly texture: [number, number];
  readonly sizeKey: string;
}

async function probeOne(
  context: FrameContext,
  trial: string,
  level: ArtLevel,
  size: number,
  estimator: DepthEstimator,
): Promise<Trial> {
  const { frame, threshold } = context;
  const pasted = await pasteArt(frame, trial, level, size, context.seed);
  const start = performance.now();
  const depth = await predictDepth({ ...frame, ...pasted }, context.id, estimator, context.range);
  const seconds = (performance.now() - start) / 1000;
  const region = largestArtRegion(depth, pasted.depth, pasted.valid, pasted.mask, frame, threshold);
  // The same pixels before the paste: a model that is not flat there already is not fooled by the art.
  const before = largestArtRegion(context.clean, frame.depth, frame.valid, pasted.mask, frame, threshold);
  const piece = level.pieces.find((p) => p.name === pasted.art);
  const indices = largestComponent(pasted.mask, frame.width, frame.height);
  const follows = piece?.depth ? followsOf(depth, piece, pasted.region, indices, frame.width) : null;
  const { placement, shape, border } = pasted.region;
  const texture: [number, number] = piece ? [piece.rgb.width, piece.rgb.height] : [0, 0];
  return {
    record: {
      frame: context.id,
      repeat: context.repeat,
      level: level.index,
      size,
      area: pasted.area,
      art: pasted.art,
      artDepthRatio: piece?.depthRatio ?? NaN,
      flatnessError: region.flatnessError,
      fooled: region.fooled,
      absRel: region.absRel,
      flatnessErrorBefore: before.flatnessError,
      seconds,
      aspect: texture[0] / texture[1],
      pose: {
        yaw: placement.yaw,
        pitch: placement.pitch,
        roll: placement.roll,
        centre: [placement.centre[0], placement.centre[1]],
        width: shape.width,
        height: shape.height,
        border: border.width,
      },
      paired: false,
      followsArt: follows?.correlation ?? null,
      followsArtSlope: follows?.slope ?? null,
      artRelief: follows?.artRelief ?? null,
      blankFollowsArt: null,
      fooledByArt: follows ? region.fooled && follows.correlation >= context.followThreshold : null,
    },
    depth,
    pasted,
    piece,
    indices,
    texture,
    sizeKey: `${texture[0]}x${texture[1]}`,
  };
}

/** Equal poses (exactly: the same draws give the same numbers). */
function samePose(a: Pose | null | undefined, b: Pose | null | undefined): boolean {
  return !!a && !!b && JSON.stringify(a) === JSON.stringify(b);
}

/** The largest 4-connected art component of the mask, as flatRegions scores it. */
function largestComponent(mask: Uint8Array, width: number, height: number): Int32Array {
  let best: Int32Array = new Int32Array(0);
  for (const r of labelRegions(mask, width, height)) {
    if (r.label === MASK.art && r.pixels.length > best.length) best = r.pixels;
  }
  return best;
}

/**
 * The picture's own inverse depth at image pixels `indices` of a paste (NaN off the picture — on its border —
 * or where its depth is invalid): each pixel centre is taken back to the picture's plane by the inverse of the
 * compositor's homography and sampled bilinearly where the compositor samples the texture (texel centres at
 * (k + ½) / size of the shape's bounding rectangle, clamped to the edge texels).
 */
export function warpArtInverseDepth(
  piece: Pick<ArtPiece, "depth" | "valid" | "rgb">,
  region: Pick<RegionRecord, "placement" | "shape">,
  indices: ArrayLike<number>,
  width: number,
): Float64Array {
  const out = new Float64Array(indices.length).fill(NaN);
  const { depth, valid } = piece;
  if (!depth) return out;
  const tw = piece.rgb.width, th = piece.rgb.height;
  const { shape } = region;
  const hi = invert(planeToImage(region.placement));
  const sdf = shapeSdf(shape);
  const inv = (i: number) => (valid && !valid[i]) || !(depth[i] > 0) ? NaN : 1 / depth[i];
  for (let k = 0; k < indices.length; k++) {
    const x = indices[k] % width, y = Math.floor(indices[k] / width);
    const [px, py] = apply(hi, x, y);
    if (!(sdf(px, py) < 0)) continue;
    const s = Math.min(Math.max(((px + shape.width / 2) / shape.width) * tw - 0.5, 0), tw - 1);
    const t = Math.min(Math.max(((py + shape.height / 2) / shape.height) * th - 0.5, 0), th - 1);
    const s0 = Math.floor(s), t0 = Math.floor(t);
    const s1 = Math.min(s0 + 1, tw - 1), t1 = Math.min(t0 + 1, th - 1);
    const fs = s - s0, ft = t - t0;
    const top = inv(t0 * tw + s0) * (1 - fs) + inv(t0 * tw + s1) * fs;
    const bottom = inv(t1 * tw + s0) * (1 - fs) + inv(t1 * tw + s1) * fs;
    out[k] = top * (1 - ft) + bottom * ft;
  }
  return out;
}

/** `followsPicture` of a predicted depth map against the picture warped into the paste, over the picture's pixels. */
export function followsOf(
  depth: ArrayLike<number>,
  piece: Pick<ArtPiece, "depth" | "valid" | "rgb">,
  region: Pick<RegionRecord, "placement" | "shape">,
  indices: ArrayLike<number>,
  width: number,
): Follows | null {
  const art = warpArtInverseDepth(piece, region, indices, width);
  const idx: number[] = [], pred: number[] = [], pic: number[] = [];
  for (let k = 0; k < indices.length; k++) {
    const z = depth[indices[k]];
    if (!Number.isFinite(art[k]) || !(z > 0) || !Number.isFinite(z)) continue;
    idx.push(indices[k]);
    pred.push(1 / z);
    pic.push(art[k]);
  }
  return followsPicture(pred, pic, idx, width);
}

/** Per level and size: trials, mean measured area, fooled rate, mean flatness error and region abs_rel. */
export function probeCells(
  records: readonly ProbeRecord[],
  levels: number,
  sizes: readonly number[],
): ProbeCell[] {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const median = (xs: number[]) => {
    if (xs.length === 0) return null;
    const sorted = [...xs].sort((a, b) => a - b), mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const cells: ProbeCell[] = [];
  for (let level = 0; level < levels; level++) {
    for (const size of sizes) {
      const mine = records.filter((r) =>
        r.level === level && r.size === size && !Number.isNaN(r.flatnessError)
      );
      const fooled = mine.filter((r) => r.fooled).length;
      cells.push({
        level,
        size,
        trials: mine.length,
        meanArea: mean(mine.map((r) => r.area)),
        fooled,
        fooledRate: mine.length ? fooled / mine.length : null,
        meanFlatnessError: mean(mine.map((r) => r.flatnessError)),
        medianFlatnessError: median(mine.map((r) => r.flatnessError)),
        meanFlatnessErrorBefore: mean(
          mine.map((r) => r.flatnessErrorBefore).filter((e) => !Number.isNaN(e)),
        ),
        meanAbsRel: mean(mine.filter((r) => r.absRel !== null).map((r) => r.absRel as number)),
        meanFollowsArt: mean(
          mine.map((r) => r.followsArt).filter((f): f is number => f !== null && f !== undefined),
        ),
      });
    }
  }
  return cells;
}
