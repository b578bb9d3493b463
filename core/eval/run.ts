/**
 * A dataset-level evaluation: every model on every frame of a Hypersim or vKITTI2 tree (or a split of it,
 * augmented or not), writing into one folder
 *
 *   per_image.jsonl    one line per frame: every model's official, background and per-region metrics
 *   rejects.jsonl      one line per frame that could not be read or predicted (skipped, the run goes on)
 *   summary.json       the totals per model, and their differences from the first model
 *   report.md          the same side by side, with the figures
 *   charts/*.png       metric bars, flatness-error histograms, fooled rate by region size
 *   worst_regions.png  the contact sheet of the worst regions
 *   ply/<frame>/*.ply  ground truth and each model's depth as coloured point clouds, for the first frames
 *
 * A frame counts only when every model predicted it, so the models are always compared on the same frames.
 * Flat-content metrics need the set's masks (`masks/<rgb path>.png`); frames without one get the official
 * metrics only.
 */
import { join } from "node:path";
import { adapterFor } from "../data/adapters.ts";
import { type DatasetName, DEPTH_RANGE } from "../data/datasets.ts";
import { type FrameRef, maskPath } from "../data/frame_paths.ts";
import { asTrompeError, TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { readPng, writePng } from "../io/png.ts";
import { writePly } from "../io/ply.ts";
import { Progress, type ProgressOptions } from "../cli/progress.ts";
import type { DepthEstimator } from "../nn/estimator.ts";
import {
  depthAtGroundTruth,
  type EvalFrame,
  evaluateFrame,
  maskRegions,
  type ModelFrameResult,
  type ModelSummary,
  ModelTotals,
} from "./evaluate.ts";
import { evalFigures } from "./figures.ts";
import type { DepthMetrics, DepthRange } from "./metrics.ts";
import { frameCloud } from "./ply_export.ts";
import { evalReport } from "./report.ts";
import { WorstRegions } from "./sheet.ts";
import { jsonText } from "../io/json.ts";
import { noFramesError } from "../data/scan.ts";

/** What `runEvaluation` compares: models as estimators, on which dataset frames, writing what. */
export interface EvalRunOptions {
  readonly dataset: DatasetName;
  readonly root: string;
  readonly split?: string;
  readonly out: string;
  readonly estimators: readonly DepthEstimator[];
  /** Where each model came from (a checkpoint path, an ONNX file), for the report; defaults to its name. */
  readonly sources?: readonly string[];
  readonly threshold?: number;
  readonly limit?: number;
  /** Rows of the worst-region sheet (0: none). */
  readonly sheet?: number;
  /** Frames to write point clouds for (0: none). */
  readonly ply?: number;
  /** The depths evaluated, in metres (default: the dataset's, DEPTH_RANGE). */
  readonly range?: Required<DepthRange>;
  readonly progress?: ProgressOptions;
}

export interface ModelEntry extends ModelSummary {
  readonly source: string;
  readonly kind: DepthEstimator["kind"];
  /**
   * Mean prediction time per frame after the first: the first frame compiles the GPU pipelines (for the first
   * model alone, since the others reuse them), so it is kept apart as `warmupSeconds`.
   */
  readonly secondsPerImage: number;
  /** The first frame's prediction time, warm-up included. */
  readonly warmupSeconds: number;
  /** This model minus the first, for the headline numbers; absent on the first model. */
  readonly delta?: ModelDelta;
}

export interface ModelDelta {
  readonly official: Partial<DepthMetrics>;
  readonly background: Partial<DepthMetrics>;
  readonly fooledRate: number | null;
  readonly meanFlatnessError: number | null;
  readonly meanAbsRel: number | null;
  readonly falseFlatRate: number | null;
}

/** An evaluation's results: per-model official and flat-content metrics and their differences. */
export interface EvalSummary {
  readonly dataset: DatasetName;
  readonly root: string;
  readonly split: string | null;
  readonly range: Required<DepthRange>;
  /** Whether `range` is the dataset's (DEPTH_RANGE) or the caller's (`--eval-range`). */
  readonly rangeSource: "dataset" | "option";
  readonly threshold: number;
  readonly images: {
    /** Frames listed (after --limit). */
    readonly listed: number;
    /** Frames every model predicted. */
    readonly evaluated: number;
    /** Frames with an augmentation mask. */
    readonly withMask: number;
    /** Frames that failed (rejects.jsonl). */
    readonly failed: number;
  };
  readonly models: readonly ModelEntry[];
  /** Output files, relative to the output folder. */
  readonly files: {
    readonly charts: readonly string[];
    readonly sheet: string | null;
    readonly ply: readonly string[];
  };
}

/** A JSON-lines file written under a temporary name and renamed when complete. */
class JsonLines {
  readonly #lines: string[] = [];
  constructor(readonly path: string) {}
  push(value: unknown): void {
    this.#lines.push(jsonText(value));
  }
  get count(): number {
    return this.#lines.length;
  }
  async close(): Promise<void> {
    await writeTextFileAtomic(this.path, this.#lines.map((l) => l + "\n").join(""));
  }
}

/** A name usable as a file name (frame ids and model names hold slashes and dots). */
export function fileSafe(name: string): string {
  return name.replace(/\.[^./]+$/, "").replace(/[^A-Za-z0-9._-]+/g, "_");
}

async function readMask(
  root: string,
  ref: FrameRef,
  width: number,
  height: number,
): Promise<Uint8Array | undefined> {
  const path = join(root, maskPath(ref));
  let png;
  try {
    png = await readPng(path);
  } catch (error) {
    if (error instanceof TrompeError && error.code === "not-found") return undefined;
    throw error;
  }
  if (png.channels !== 1 || png.data instanceof Uint16Array || png.width !== width || png.height !== height) {
    throw new TrompeError("corrupt", `mask is not an 8-bit gray ${width}×${height} image`, { subject: path });
  }
  return png.data;
}

/**
 * Models side by side on a dataset: official and flat-content metrics, charts, a worst-region sheet and point
 * clouds (what `deno task eval` runs).
 *
 * @example
 * ```ts
 * import { engineEstimator, loadDepthAnythingV2, runEvaluation } from "@trompe/trompe";
 *
 * const model = await loadDepthAnythingV2("runs/flat/latest.safetensors");
 * const summary = await runEvaluation({
 *   dataset: "hypersim",
 *   root: "/data/hypersim-flat",
 *   split: "/data/hypersim-flat/splits/val.txt",
 *   out: "out/eval",
 *   estimators: [engineEstimator("fine-tuned", model, model.config.head, 518)],
 * });
 * console.log(summary.models.map((m) => m.name));
 * ```
 */
export async function runEvaluation(options: EvalRunOptions): Promise<EvalSummary> {
  const { dataset, root, out, estimators } = options;
  if (estimators.length === 0) throw new TrompeError("bad-argument", "no model to evaluate");
  const names = estimators.map((e) => e.name);
  if (new Set(names).size !== names.length) {
    throw new TrompeError("bad-argument", `two models share a name (${names.join(", ")})`);
  }
  const threshold = options.threshold ?? 0.02;
  const range = options.range ?? DEPTH_RANGE[dataset];
  const settings = { range, threshold };
  const adapter = adapterFor(dataset);
  const listed = await adapter.list(root, options.split);
  const frames = listed.frames.slice(0, options.limit ?? listed.frames.length);
  if (frames.length === 0) throw noFramesError(dataset, options.split ?? root, listed.problems);

  const perImage = new JsonLines(join(out, "per_image.jsonl"));
  const rejects = new JsonLines(join(out, "rejects.jsonl"));
  for (const problem of listed.problems) {
    rejects.push({ id: problem.path, stage: "list", error: problem.problem });
  }
  const totals = estimators.map((e) => new ModelTotals(e.name, threshold));
  const seconds = estimators.map(() => 0);
  const warmup = estimators.map(() => NaN);
  const worst = new WorstRegions(options.sheet ?? 0, names);
  const plyFiles: string[] = [];
  let evaluated = 0, withMask = 0;
  const progress = new Progress("eval", frames.length, { unit: "frames", ...options.progress });

  for (const ref of frames) {
    let stage = "read";
    try {
      const sample = await adapter.read(root, ref);
      const mask = await readMask(root, ref, sample.width, sample.height);
      const frame: EvalFrame = { ...sample, id: ref.rgb, mask };
      const depths: Float32Array[] = [];
      const times: number[] = [];
      for (const estimator of estimators) {
        stage = `predict (${estimator.name})`;
        const start = performance.now();
        const prediction = await estimator.predict(frame.rgb);
        times.push((performance.now() - start) / 1000);
        depths.push(depthAtGroundTruth(frame, prediction, estimator.kind, range));
      }
      stage = "evaluate";
      const regions = mask ? maskRegions(mask, frame.width, frame.height) : [];
      const results: ModelFrameResult[] = estimators.map((e, m) =>
        evaluateFrame(e.name, frame, depths[m], regions, settings)
      );
      regions.forEach((region, k) => worst.consider(frame, region, depths, results.map((r) => r.regions[k])));
      if (plyFiles.length < (options.ply ?? 0) * (estimators.length + 1)) {
        stage = "ply";
        const dir = join("ply", fileSafe(ref.rgb));
        const clouds = [
          { name: "ground_truth", depth: frame.depth, valid: frame.valid },
          ...names.map((n, m) => ({
            name: fileSafe(n),
            depth: depths[m],
            valid: undefined,
          })),
        ];
        for (const cloud of clouds) {
          const file = join(dir, `${cloud.name}.ply`);
          await writePly(join(out, file), frameCloud(frame, cloud.depth, cloud.valid, range));
          plyFiles.push(file);
        }
      }
      results.forEach((r, m) => totals[m].add(r));
      times.forEach((t, m) => (evaluated === 0 ? (warmup[m] = t) : (seconds[m] += t)));
      evaluated++;
      if (mask) withMask++;
      perImage.push({
        id: ref.rgb,
        rgb: ref.rgb,
        depth: ref.depth,
        mask: mask ? maskPath(ref) : null,
        width: frame.width,
        height: frame.height,
        regions: regions.map((r) => ({ label: r.label, pixels: r.pixels.length, area: r.area, box: r.box })),
        models: results.map((r, m) => ({
          model: r.model,
          seconds: times[m],
          official: r.official,
          background: r.background,
          regions: r.regions.map((g) => ({
            flatnessError: g.flatnessError,
            fooled: g.fooled,
            gtFlatnessError: g.gtFlatnessError,
            absRel: g.absRel,
          })),
        })),
      });
      progress.tick();
    } catch (error) {
      const e = asTrompeError(error, ref.rgb);
      rejects.push({ id: ref.rgb, stage, error: e.oneLine() });
      progress.tick(1, true);
    }
  }
  const finishLine = progress.finish();

  const models: ModelEntry[] = totals.map((t, m) => ({
    ...t.summary(),
    source: options.sources?.[m] ?? names[m],
    kind: estimators[m].kind,
    secondsPerImage: evaluated > 1 ? seconds[m] / (evaluated - 1) : warmup[m],
    warmupSeconds: warmup[m],
  }));
  const withDeltas = models.map((m, i) => (i === 0 ? m : { ...m, delta: delta(m, models[0]) }));

  const charts = await writeFigures(out, totals, withDeltas, threshold);
  const sheetImage = worst.render();
  const sheet = sheetImage ? "worst_regions.png" : null;
  if (sheetImage) await writePng(join(out, sheet!), sheetImage);

  const summary: EvalSummary = {
    dataset,
    root,
    split: options.split ?? null,
    range,
    rangeSource: options.range ? "option" : "dataset",
    threshold,
    images: { listed: frames.length, evaluated, withMask, failed: rejects.count },
    models: withDeltas,
    files: { charts, sheet, ply: plyFiles },
  };
  await perImage.close();
  await rejects.close();
  await writeTextFileAtomic(join(out, "summary.json"), jsonText(summary, 2) + "\n");
  await writeTextFileAtomic(join(out, "report.md"), evalReport(summary, finishLine));
  return summary;
}

async function writeFigures(
  out: string,
  totals: readonly ModelTotals[],
  models: readonly ModelSummary[],
  threshold: number,
): Promise<string[]> {
  const figures = evalFigures(models, totals.map((t) => t.pastedErrors()), threshold);
  const files: string[] = [];
  for (const [name, image] of Object.entries(figures)) {
    const file = join("charts", `${name}.png`);
    await writePng(join(out, file), image);
    files.push(file);
  }
  return files;
}

function delta(model: ModelSummary, first: ModelSummary): ModelDelta {
  const diff = (a: DepthMetrics | null, b: DepthMetrics | null): Partial<DepthMetrics> =>
    a && b
      ? Object.fromEntries(
        Object.keys(a).map((k) => [k, a[k as keyof DepthMetrics] - b[k as keyof DepthMetrics]]),
      )
      : {};
  const sub = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
  return {
    official: diff(model.official.mean, first.official.mean),
    background: diff(model.background.mean, first.background.mean),
    fooledRate: sub(model.flat.fooledRate, first.flat.fooledRate),
    meanFlatnessError: sub(model.flat.meanFlatnessError, first.flat.meanFlatnessError),
    meanAbsRel: sub(model.flat.meanAbsRel, first.flat.meanAbsRel),
    falseFlatRate: sub(model.flat.falseFlatRate, first.flat.falseFlatRate),
  };
}
