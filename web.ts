/**
 * trompe for the browser (or any JavaScript runtime with WebGPU): the same WGSL Depth Anything V2 that
 * `mod.ts` runs under Deno, taking its weights as bytes rather than a file path, with the official and
 * flat-content metrics. Nothing here touches files, environment variables or `node:` modules; the kernels
 * travel inside the code.
 *
 * @example Depth for an image in a web page
 * ```ts
 * import { DepthAnythingV2, parseConfig, parseSafetensors, Runtime, stateDictFromSafetensors } from "@trompe/trompe/web";
 *
 * const bytes = new Uint8Array(await (await fetch("weights.safetensors")).arrayBuffer());
 * const config = parseConfig(await (await fetch("config.json")).json(), "config.json");
 * const st = parseSafetensors(bytes, "weights.safetensors");
 * const model = DepthAnythingV2.fromStateDict(await Runtime.create(), config, stateDictFromSafetensors(st));
 * const image = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12).fill(128) };
 * const { depth } = await model.infer(image, 518);
 * ```
 *
 * @module
 */
export { type ErrorCode, TrompeError } from "./core/errors.ts";
export { TROMPE_VERSION } from "./core/version.ts";

// GPU runtime
export { type AdapterSummary, getGpu, type GpuContext } from "./core/gpu/device.ts";
export { Runtime } from "./core/gpu/runtime.ts";
export type { Tensor } from "./core/gpu/tensor.ts";

// Weights and images in memory
export {
  parseSafetensors,
  SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
} from "./core/io/safetensors_format.ts";
export type { NamedTensor, StateDict } from "./core/io/pth.ts";
export type { RasterU8 } from "./core/io/raster.ts";

// Model and inference
export { type HeadKind, type ModelConfig, parseConfig, PRESETS } from "./core/nn/model/config.ts";
export { configFromMetadata, stateDictFromSafetensors } from "./core/nn/model/state_dict.ts";
export { DepthAnythingV2 } from "./core/nn/model/depth_anything.ts";
export { type DepthEngine, type DepthResult, inferDepth } from "./core/nn/predict.ts";
export { image2tensor } from "./core/data/preprocess.ts";

// Pictures
export { colorizeDepth, type ColorMap, inverseDepthRange, turbo } from "./core/plot/colormap.ts";
export { type NpyData, serializeNpy } from "./core/io/npy_format.ts";
export { encodePly, type PointCloud } from "./core/io/ply_format.ts";
export {
  defaultIntrinsics,
  type Intrinsics,
  PNG16_UNITS,
  png16Values,
  pointCloud,
} from "./core/nn/depth_encodings.ts";

// Metrics
export { type DepthMetrics, evalDepth, METRIC_NAMES, type MetricName } from "./core/eval/metrics.ts";
export {
  ART,
  type FlatOptions,
  flatRegions,
  type FlatSummary,
  MIRROR,
  NEGATIVE,
  type RegionResult,
  summarizeFlat,
} from "./core/eval/flat.ts";
