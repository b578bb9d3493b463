/**
 * trompe as a library: the pieces a research script composes — dataset readers and writers, the augmentation
 * runner, Depth Anything V2 on WebGPU (or ONNX), official and flat-content metrics, and the GPU runtime
 * underneath. The tasks in tasks/ are thin command-line layers over exactly these. This entry runs under Deno
 * (it reads and writes files); `@trompe/trompe/web` is the part a browser can take.
 *
 * @example Load a checkpoint and predict depth for an image
 * ```ts
 * import { loadDepthAnythingV2, readImageRgb, writeNpy } from "@trompe/trompe";
 *
 * const model = await loadDepthAnythingV2("depth_anything_v2_metric_hypersim_vits.pth");
 * const { depth, width, height } = await model.infer(await readImageRgb("room.jpg"));
 * await writeNpy("room_depth.npy", depth, [height, width]);
 * ```
 *
 * @example Read a Hypersim frame and score a prediction against it
 * ```ts
 * import { evaluateImage, listHypersimFrames, loadDepthAnythingV2, readHypersimSample } from "@trompe/trompe";
 *
 * const { frames } = await listHypersimFrames("/data/hypersim");
 * const sample = await readHypersimSample(frames[0], { planar: "official" });
 * const model = await loadDepthAnythingV2("depth_anything_v2_metric_hypersim_vits.pth");
 * const { depth, width, height } = await model.infer(sample.rgb);
 * const target = { data: sample.depth, width: sample.width, height: sample.height };
 * console.log(evaluateImage({ data: depth, width, height }, target, sample.valid)); // abs_rel, d1, ...
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

// Files
export type { RasterU16, RasterU8 } from "./core/io/raster.ts";
export {
  parseSafetensors,
  readSafetensors,
  SafetensorsFile,
  serializeSafetensors,
  type TensorToWrite,
  writeSafetensors,
} from "./core/io/safetensors.ts";
export {
  type NpyArray,
  type NpyData,
  type NpyDType,
  parseNpy,
  readNpy,
  serializeNpy,
  writeNpy,
} from "./core/io/npy.ts";
export { decodePng, encodePng, type EncodePngOptions, readPng, writePng } from "./core/io/png.ts";
export { decodeJpeg, encodeJpeg, readJpeg, writeJpeg } from "./core/io/jpeg.ts";
export { decodeImageRgb, readImageRgb } from "./core/io/image.ts";
export { type Hdf5Dataset, parseHdf5Dataset, readHdf5Dataset } from "./core/io/hdf5.ts";
export { encodePly, type PointCloud, writePly } from "./core/io/ply.ts";
export { type NamedTensor, type PthContents, readPth, type StateDict } from "./core/io/pth.ts";

// Datasets
export { DATASET_NAMES, type DatasetName, DEPTH_RANGE } from "./core/data/datasets.ts";
export type { Intrinsics, Sample } from "./core/data/sample.ts";
export {
  type HypersimFrame,
  type HypersimReadOptions,
  listHypersimFrames,
  readHypersimOfficialSplit,
  readHypersimSample,
} from "./core/data/hypersim.ts";
export { listVkitti2Frames, readVkitti2Sample, type Vkitti2Frame } from "./core/data/vkitti2.ts";
export { readSplitFile, type SplitItem, writeSplitFile } from "./core/data/splits.ts";
export { image2tensor } from "./core/data/preprocess.ts";

// Model and inference
export { type HeadKind, type ModelConfig, parseConfig, PRESETS } from "./core/nn/model/config.ts";
export { readConfigFile } from "./core/nn/model/config_file.ts";
export {
  type CheckpointOverrides,
  type CheckpointToSave,
  loadCheckpoint,
  type LoadedCheckpoint,
  type Provenance,
  saveCheckpoint,
} from "./core/nn/model/checkpoint.ts";
export { stateDictFromSafetensors } from "./core/nn/model/state_dict.ts";
export { DepthAnythingV2 } from "./core/nn/model/depth_anything.ts";
export { loadDepthAnythingV2 } from "./core/nn/model/load.ts";
export { type DepthEngine, type DepthResult, inferDepth } from "./core/nn/predict.ts";
export { OnnxEngine, type OnnxEngineOptions } from "./core/nn/onnx_engine.ts";

// Augmentation
export type { JobSettings } from "./core/augment/job.ts";
export { runAugment, type RunOptions, type RunSummary } from "./core/augment/runner.ts";
export { loadRecipe, preset, PRESET_NAMES } from "./core/augment/presets.ts";
export type { Recipe } from "./core/augment/recipe.ts";
export { listWithSplit, planByScene, type SplitPlan, type SplitSpec } from "./core/augment/split.ts";

// Evaluation
export {
  type DepthMap,
  type DepthMetrics,
  evalDepth,
  evaluateImage,
  METRIC_NAMES,
  type MetricName,
  MetricsMean,
} from "./core/eval/metrics.ts";
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
export { type EvalRunOptions, type EvalSummary, runEvaluation } from "./core/eval/run.ts";
export { type DepthEstimator, engineEstimator } from "./core/nn/estimator.ts";

// Fine-tuning
export { runTraining, type TrainResult } from "./core/train/trainer.ts";
export { TRAIN_DEFAULTS, type TrainOptions } from "./core/train/options.ts";

// The study's experiment (what `deno task study` and `deno task demo` run): arms × seeds from one base model,
// judged on held-out scenes, and its write-up
export {
  type ExperimentOptions,
  type ExperimentResult,
  runExperiment,
  STUDY_DEFAULTS,
  type StudyArm,
  studyArms,
} from "./core/study/experiment.ts";
export { type ExperimentFiles, writeExperiment } from "./core/study/experiment_write.ts";
