/**
 * trompe as a library: the pieces a research script composes — dataset readers and writers, the augmentation
 * runner, Depth Anything V2 on WebGPU (or ONNX), official and flat-content metrics, and the GPU runtime
 * underneath. The tasks in tasks/ are thin command-line layers over exactly these.
 */
export * from "./core/errors.ts";
export { TROMPE_VERSION } from "./core/version.ts";

// GPU runtime
export { getGpu, type GpuContext } from "./core/gpu/device.ts";
export { Runtime } from "./core/gpu/runtime.ts";
export type { Tensor } from "./core/gpu/tensor.ts";
export { describePeak, formatBytes } from "./core/gpu/pool.ts";
export { matmul, type MatmulArgs } from "./core/gpu/matmul.ts";

// Files
export * from "./core/io/safetensors.ts";
export * from "./core/io/npy.ts";
export * from "./core/io/png.ts";
export * from "./core/io/jpeg.ts";
export * from "./core/io/image.ts";
export * from "./core/io/hdf5.ts";
export * from "./core/io/ply.ts";
export { readPth } from "./core/io/pth.ts";

// Datasets
export * from "./core/data/sample.ts";
export * from "./core/data/hypersim.ts";
export * from "./core/data/vkitti2.ts";
export * from "./core/data/splits.ts";
export * from "./core/data/preprocess.ts";

// Model and inference
export * from "./core/nn/model/config.ts";
export * from "./core/nn/model/checkpoint.ts";
export { DepthAnythingV2 } from "./core/nn/model/depth_anything.ts";
export { type DepthEngine, type DepthResult, inferDepth } from "./core/nn/predict.ts";
export { OnnxEngine } from "./core/nn/onnx_engine.ts";

// Augmentation
export { runAugment } from "./core/augment/runner.ts";
export { loadRecipe, preset, PRESET_NAMES } from "./core/augment/presets.ts";
export { listWithSplit, planByScene, type SplitPlan, type SplitSpec } from "./core/augment/split.ts";

// Evaluation
export * from "./core/eval/metrics.ts";
export * from "./core/eval/flat.ts";
export { runEvaluation } from "./core/eval/run.ts";

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
  studyArms,
} from "./core/study/experiment.ts";
export { type ExperimentFiles, writeExperiment } from "./core/study/experiment_write.ts";
