/**
 * A predict run: one model (opened as every task opens one, core/nn/open_estimator.ts) on every image of an
 * image, a folder or a split file, writing the chosen outputs per image under `out` with the input's folder
 * structure. An image that fails is recorded in `rejects.jsonl` and the batch goes on; `predict.run.json`
 * records the inputs, settings, per-image results and timings.
 */
import { dirname, join, relative } from "node:path";
import { Progress, type ProgressOptions } from "../cli/progress.ts";
import { writeRunRecord } from "../cli/record.ts";
import { asTrompeError, TrompeError } from "../errors.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { readImageRgb } from "../io/image.ts";
import { plural } from "../plural.ts";
import type { HeadKind } from "./model/config.ts";
import { type ModelSource, type OpenedModel, openEstimator } from "./open_estimator.ts";
import { listPredictInputs } from "./predict_inputs.ts";
import {
  type Intrinsics,
  PNG16_UNITS,
  type SaveKind,
  type SaveOptions,
  saveOutputs,
} from "./predict_outputs.ts";

export interface PredictRunOptions {
  readonly source: ModelSource;
  /** An image, a folder (searched recursively) or a split file. */
  readonly input: string;
  /** What a split file's relative paths start from. */
  readonly root: string;
  readonly out: string;
  readonly save: readonly SaveKind[];
  /** Pinhole intrinsics for ply (default: the official depth_to_pointcloud.py camera). */
  readonly intrinsics?: Intrinsics;
  /** Draws the colour preview for a model with this head (core/plot/depth_preview.ts). */
  readonly preview: (head: HeadKind) => SaveOptions["preview"];
  /** The caller's own settings (the preview's colour map, ...), recorded in the run record's settings. */
  readonly settings?: Record<string, unknown>;
  /** Lines that say what was loaded, assumed and listed. */
  readonly log: (line: string) => void;
  readonly progress?: ProgressOptions;
}

export interface PredictRunResult {
  readonly done: number;
  readonly failed: number;
  readonly rejectsPath: string;
  readonly recordPath: string;
}

export async function runPredict(options: PredictRunOptions): Promise<PredictRunResult> {
  const { source, input, out, save, intrinsics, log } = options;
  const started = performance.now();
  const opened = await openEstimator(source);
  try {
    const described = describeModel(source, opened);
    for (const line of described.lines) log(line);
    const head = opened.head;
    if (save.includes("ply") && head === "relative") {
      throw new TrompeError(
        "bad-argument",
        "ply needs metric depth; this model's output is relative disparity",
        {
          subject: "--save",
        },
      );
    }
    const settings: Record<string, unknown> = {
      engine: source.engine,
      inputSize: source.inputSize,
      save,
      ...options.settings,
      intrinsics: intrinsics ?? "default",
      ...described.settings,
    };
    if (save.includes("png16")) {
      const { suffix, unit } = PNG16_UNITS[head];
      log(`png16: *${suffix} in ${unit}`);
      settings.png16 = unit;
    }
    const items = await listPredictInputs(input, options.root);
    if (items.length === 0) {
      throw new TrompeError("not-found", "no JPEG or PNG images found", { subject: input });
    }
    log(`predict: ${plural(items.length, "image")} from ${input} → ${out}`);
    await Deno.mkdir(out, { recursive: true });
    const progress = new Progress("predict", items.length, { unit: "images", ...options.progress });
    const preview = options.preview(head);
    const results: Record<string, unknown>[] = [];
    const rejects: string[] = [];
    let forwardMs = 0;
    for (const item of items) {
      try {
        const rgb = await readImageRgb(item.path);
        const t0 = performance.now();
        const result = await opened.estimator.predict(rgb);
        const ms = performance.now() - t0;
        forwardMs += ms;
        await Deno.mkdir(dirname(join(out, item.name)), { recursive: true });
        const saved = await saveOutputs(join(out, item.name), result.data, rgb, save, head, {
          intrinsics,
          preview,
        });
        results.push({
          input: item.path,
          size: [rgb.width, rgb.height],
          network: [result.network!.width, result.network!.height],
          ms: Math.round(ms),
          files: saved.files.map((f) => relative(out, f)),
          ...(saved.colorRange ? { colorRange: saved.colorRange } : {}),
          ...(saved.png16?.clamped ? { png16Clamped: saved.png16.clamped } : {}),
        });
        progress.tick();
      } catch (error) {
        const e = asTrompeError(error, item.path);
        rejects.push(JSON.stringify({ input: item.path, code: e.code, error: e.oneLine() }));
        progress.tick(1, true);
      }
    }
    log(progress.finish());
    const rejectsPath = join(out, "rejects.jsonl");
    await writeTextFileAtomic(rejectsPath, rejects.map((l) => l + "\n").join(""));
    const recordPath = await writeRunRecord(out, {
      task: "predict",
      inputs: { input, images: items.length },
      settings,
      results: { done: results.length, failed: rejects.length, images: results },
      timings: { seconds: (performance.now() - started) / 1000, inferenceMs: Math.round(forwardMs) },
      failures: rejects.length,
    });
    return { done: results.length, failed: rejects.length, rejectsPath, recordPath };
  } finally {
    opened.estimator.dispose?.();
  }
}

/** The model as predict reports it: its size and head (webgpu) or its session (ONNX), and for the record. */
function describeModel(
  source: ModelSource,
  opened: OpenedModel,
): { lines: string[]; settings: Record<string, unknown> } {
  const c = opened.config;
  if (c) {
    return {
      lines: [
        `model: ${source.path}`,
        `  encoder embed ${c.embedDim}, depth ${c.depth}, heads ${c.heads}, layers [${c.layers}]; ` +
        `features ${c.features}, out channels [${c.outChannels}]; ` +
        (c.head === "metric" ? `metric head, max depth ${c.maxDepth} m` : "relative head (disparity)"),
        ...opened.loaderNotes.map((note) => `  ${note}`),
      ],
      settings: { weights: source.path, config: c, notes: opened.loaderNotes },
    };
  }
  const onnx = opened.onnx!;
  const lines = [
    `model: ${source.path} (onnxruntime-web, input ${onnx.inputName}, output ${onnx.outputName})`,
  ];
  if (onnx.fixedInput) {
    lines.push(
      `  the model takes ${onnx.fixedInput.height}×${onnx.fixedInput.width} only: images are resized to it (aspect not kept)`,
    );
  }
  if (!source.head) {
    lines.push("  assumed its output is metric depth in metres (--head relative if disparity)");
  }
  return { lines, settings: { model: source.path, head: opened.head, fixedInput: onnx.fixedInput } };
}
