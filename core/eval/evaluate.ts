/**
 * One frame, one model: the official metrics over the whole frame, the same metrics over the background (every
 * pixel outside the augmentation mask: does the model still see the scene?), and the flat-content metrics of
 * each masked region. And the running totals over a dataset, per model, that the report is made from.
 */
import type { RasterU8 } from "../io/raster.ts";
import type { Intrinsics } from "../data/sample.ts";
import {
  ART,
  flatRegions,
  type FlatSummary,
  labelRegions,
  MIRROR,
  type RegionResult,
  summarizeFlat,
} from "./flat.ts";
import { type DepthMetrics, type DepthRange, evaluateImage, evaluationMask, MetricsMean } from "./metrics.ts";
import { alignDisparity, atSize } from "./align.ts";
import type { DepthEstimator, DepthPrediction } from "../nn/estimator.ts";

/** A ground-truth frame as evaluation reads it; `mask` only for augmented sets (0 untouched, 1/2/3 regions). */
export interface EvalFrame {
  readonly id: string;
  readonly rgb: RasterU8;
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly intrinsics: Intrinsics;
  readonly mask?: Uint8Array;
}

export interface EvalSettings {
  readonly range: Required<DepthRange>;
  /** Flatness error above which a pasted region counts as fooling the model. */
  readonly threshold: number;
  /** Regions smaller than this many pixels are specks, not evaluated (default 16, as flat.ts). */
  readonly minPixels?: number;
}

/** A connected region of the mask, shared by every model's evaluation of the frame. */
export interface MaskRegion {
  readonly label: number;
  /** Pixel indices, increasing. */
  readonly pixels: Int32Array;
  /** Share of the frame's pixels. */
  readonly area: number;
  /** [x0, y0, x1, y1), the pixels' bounding box. */
  readonly box: readonly [number, number, number, number];
}

export interface RegionEval extends RegionResult {
  readonly area: number;
  readonly box: readonly [number, number, number, number];
}

export interface ModelFrameResult {
  readonly model: string;
  /** Official metrics over the frame; null when fewer than 10 pixels are evaluable (train.py skips it). */
  readonly official: DepthMetrics | null;
  /** Official metrics outside every masked region; null without a mask or with < 10 such pixels. */
  readonly background: DepthMetrics | null;
  /** One entry per mask region, in `MaskRegion` order. */
  readonly regions: readonly RegionEval[];
}

export function maskRegions(mask: Uint8Array, width: number, height: number, minPixels = 16): MaskRegion[] {
  return labelRegions(mask, width, height).filter((r) => r.pixels.length >= minPixels).map((r) => {
    let x0 = width, y0 = height, x1 = 0, y1 = 0;
    for (const p of r.pixels) {
      const x = p % width, y = (p - x) / width;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x + 1);
      y1 = Math.max(y1, y + 1);
    }
    return {
      label: r.label,
      pixels: r.pixels,
      area: r.pixels.length / (width * height),
      box: [x0, y0, x1, y1],
    };
  });
}

/**
 * The prediction as metric depth at the ground truth's size: resized with align_corners, and for a relative
 * model aligned to the ground truth by scale and shift in disparity over the evaluation mask.
 */
export function depthAtGroundTruth(
  frame: EvalFrame,
  prediction: DepthPrediction,
  kind: DepthEstimator["kind"],
  range: DepthRange,
): Float32Array {
  const resized = atSize(prediction, frame.width, frame.height);
  if (kind === "depth") return resized;
  return alignDisparity(resized, frame.depth, evaluationMask(frame.depth, frame.valid, range));
}

/** Every metric of one model on one frame; `depth` from `depthAtGroundTruth`. */
export function evaluateFrame(
  model: string,
  frame: EvalFrame,
  depth: Float32Array,
  regions: readonly MaskRegion[],
  settings: EvalSettings,
): ModelFrameResult {
  const { width, height } = frame;
  const pred = { data: depth, width, height };
  const target = { data: frame.depth, width, height };
  const official = evaluateImage(pred, target, frame.valid, settings.range);
  let background: DepthMetrics | null = null;
  if (frame.mask) {
    const outside = frame.valid.map((v, i) => (v === 1 && frame.mask![i] === 0 ? 1 : 0));
    background = evaluateImage(pred, target, outside, settings.range);
  }
  // Each region alone in its label image, so its result is known to be its own.
  const alone = new Uint8Array(width * height);
  const evaluated = regions.map((region) => {
    for (const p of region.pixels) alone[p] = region.label;
    const [result] = flatRegions(depth, frame.depth, frame.valid, alone, width, height, {
      threshold: settings.threshold,
      kind: "depth",
      minPixels: 1,
    });
    for (const p of region.pixels) alone[p] = 0;
    return { ...result, area: region.area, box: region.box };
  });
  return { model, official, background, regions: evaluated };
}

/** Region size bins (share of the frame) for the fooled rate by size. */
export const SIZE_BINS = [0, 0.02, 0.05, 0.1, 0.2, 0.35, 1] as const;

export interface SizeBin {
  readonly lo: number;
  readonly hi: number;
  readonly regions: number;
  readonly fooled: number;
  /** null for an empty bin. */
  readonly rate: number | null;
}

export interface ModelSummary {
  readonly name: string;
  readonly official: { readonly images: number; readonly mean: DepthMetrics | null };
  readonly background: { readonly images: number; readonly mean: DepthMetrics | null };
  readonly flat: FlatSummary;
  readonly mirror: FlatSummary;
  readonly art: FlatSummary;
  readonly bySize: readonly SizeBin[];
}

/** Running totals for one model over a dataset. */
export class ModelTotals {
  readonly official = new MetricsMean();
  readonly background = new MetricsMean();
  readonly regions: RegionEval[] = [];

  constructor(readonly name: string, readonly threshold: number) {}

  add(result: ModelFrameResult): void {
    this.official.add(result.official);
    this.background.add(result.background);
    this.regions.push(...result.regions);
  }

  /** Flatness errors of the pasted regions (mirror and art), for histograms. */
  pastedErrors(): number[] {
    return this.regions.filter(isPasted).map((r) => r.flatnessError).filter((e) => !Number.isNaN(e));
  }

  summary(): ModelSummary {
    const mean = (m: MetricsMean) => (m.count > 0 ? m.mean() : null);
    const pasted = this.regions.filter((r) => isPasted(r) && !Number.isNaN(r.flatnessError));
    const bySize = SIZE_BINS.slice(0, -1).map((lo, b) => {
      const hi = SIZE_BINS[b + 1];
      const inBin = pasted.filter((r) => r.area >= lo && (r.area < hi || b === SIZE_BINS.length - 2));
      const fooled = inBin.filter((r) => r.fooled).length;
      return { lo, hi, regions: inBin.length, fooled, rate: inBin.length ? fooled / inBin.length : null };
    });
    return {
      name: this.name,
      official: { images: this.official.count, mean: mean(this.official) },
      background: { images: this.background.count, mean: mean(this.background) },
      flat: summarizeFlat(this.regions, this.threshold),
      mirror: summarizeFlat(this.regions.filter((r) => r.label === MIRROR), this.threshold),
      art: summarizeFlat(this.regions.filter((r) => r.label === ART), this.threshold),
      bySize,
    };
  }
}

function isPasted(r: RegionResult): boolean {
  return r.label === MIRROR || r.label === ART;
}
