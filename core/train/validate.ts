/**
 * Validation during training, as metric_depth/train.py does it: each val frame through the official input
 * (`image2tensor`, decoded by the loader's workers), the model on the weights being trained, and the
 * official metrics of core/eval (align_corners resize to the ground truth, valid & range mask, images with
 * fewer than 10 pixels skipped, mean over images). A relative model's disparity is first aligned to the ground
 * truth by scale and shift, as `deno task eval` does.
 */
import type { Runtime } from "../gpu/runtime.ts";
import { alignDisparity, atSize } from "../eval/align.ts";
import {
  type DepthMetrics,
  type DepthRange,
  evaluateImage,
  evaluationMask,
  MetricsMean,
} from "../eval/metrics.ts";
import type { ModelConfig } from "../nn/model/config.ts";
import { DepthAnythingV2 } from "../nn/model/depth_anything.ts";
import type { GpuWeights } from "../nn/model/weights.ts";
import type { FrameRef, SampleLoader } from "./data_loader.ts";

export interface ValResult {
  metrics: DepthMetrics | null;
  /** Images the metrics average over. */
  images: number;
  failures: { rgb: string; error: string }[];
}

export async function validate(
  rt: Runtime,
  config: ModelConfig,
  weights: GpuWeights,
  loader: SampleLoader,
  frames: readonly FrameRef[],
  range: Required<DepthRange>,
): Promise<ValResult> {
  // Shares the trained weights: nothing is uploaded or copied, and the model is not disposed here.
  const model = new DepthAnythingV2(rt, config, weights);
  const mean = new MetricsMean();
  const failures: ValResult["failures"] = [];
  for await (const { ref, item, error } of loader.items("val", frames)) {
    if (!item) {
      failures.push({ rgb: ref.rgb, error: error! });
      continue;
    }
    const h = item.inputHeight!, w = item.inputWidth!;
    const depth = await model.forward(item.image, h, w);
    const target = { data: item.depth, width: item.width, height: item.height };
    if (config.head === "metric") {
      mean.add(evaluateImage({ data: depth, width: w, height: h }, target, item.valid, range));
    } else {
      const disparity = atSize({ data: depth, width: w, height: h }, item.width, item.height);
      const aligned = alignDisparity(disparity, item.depth, evaluationMask(item.depth, item.valid, range));
      mean.add(evaluateImage({ ...target, data: aligned }, target, item.valid, range));
    }
  }
  return { metrics: mean.count > 0 ? mean.mean() : null, images: mean.count, failures };
}
