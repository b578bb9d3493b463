/// <reference lib="dom" />
/**
 * A checkpoint run on the page's images: its weights and config read (the config from trompe's metadata, or
 * the JSON given beside it), the model built once on the browser's WebGPU, every image through the official
 * inference path, and any kernel the browser refuses turned into an error rather than a map of garbage.
 */
import {
  configFromMetadata,
  DepthAnythingV2,
  type ModelConfig,
  parseConfig,
  parseSafetensors,
  type RasterU8,
  Runtime,
  stateDictFromSafetensors,
  TrompeError,
} from "../web.ts";
import type { Prediction } from "./result_row.ts";
import type { Source } from "./sources.ts";

/** A checkpoint as the user gave it: "A" or "B", its weights, and its config when the weights hold none. */
export interface CheckpointSources {
  readonly label: string;
  readonly weights: Source;
  readonly config?: Source;
}

/** What the page tells the user while it works. */
export interface Progress {
  /** All of `source`, read with its progress shown. */
  read(source: Source, what: string): Promise<Uint8Array<ArrayBuffer>>;
  running(text: string): void;
}

async function configFor(
  checkpoint: CheckpointSources,
  recorded: ModelConfig | undefined,
  progress: Progress,
): Promise<{ config: ModelConfig; inputSize?: number }> {
  if (!checkpoint.config) {
    if (recorded) return { config: recorded };
    throw new TrompeError("bad-argument", "this checkpoint records no config", {
      subject: checkpoint.weights.name,
      hint: "give its config JSON beside it",
    });
  }
  const text = new TextDecoder().decode(await progress.read(checkpoint.config, "config"));
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TrompeError("bad-argument", `not JSON: ${(error as Error).message}`, {
      subject: checkpoint.config.name,
    });
  }
  const inputSize = typeof json.inputSize === "number" ? json.inputSize : undefined;
  return { config: parseConfig(json, checkpoint.config.name), inputSize };
}

/** One WebGPU device for the page's lifetime: models come and go on it, each freeing its weights. */
let runtime: Promise<Runtime> | undefined;

/**
 * Depth for each image from one checkpoint, at `inputSize` when given, else the config's, else 518.
 */
export async function predictImages(
  checkpoint: CheckpointSources,
  images: readonly { name: string; image: RasterU8 }[],
  inputSize: number | undefined,
  progress: Progress,
): Promise<Prediction[]> {
  const { weights } = checkpoint;
  const st = parseSafetensors(await progress.read(weights, "checkpoint"), weights.name);
  const { config, inputSize: configured } = await configFor(
    checkpoint,
    configFromMetadata(st, weights.name),
    progress,
  );
  const size = inputSize ?? configured ?? 518;
  runtime ??= Runtime.create();
  const rt = await runtime;
  // A kernel this browser's WebGPU refuses is reported on the device, not thrown.
  rt.ctx.device.pushErrorScope("validation");
  const model = DepthAnythingV2.fromStateDict(rt, config, stateDictFromSafetensors(st));
  const predictions: Prediction[] = [];
  let failure: unknown;
  try {
    for (const { name, image } of images) {
      progress.running(`${checkpoint.label}: ${weights.name} on ${name} at ${size} px`);
      const { depth, width, height } = await model.infer(image, size);
      const unit = config.head === "metric" ? "m" : "";
      const title = `${checkpoint.label}: ${weights.name}`;
      predictions.push({ title, head: config.head, unit, depth, width, height, inputSize: size });
    }
  } catch (error) {
    failure = error;
  }
  model.dispose();
  const refused = await rt.ctx.device.popErrorScope();
  if (refused) throw new TrompeError("gpu", `this browser's WebGPU refused a kernel: ${refused.message}`);
  if (failure) throw failure;
  return predictions;
}
