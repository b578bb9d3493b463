/**
 * A depth model as evaluation, the probe and the study see it: a name, what its output means, and RGB in →
 * depth map out. The WebGPU model, an ONNX export, or a test's stand-in all fit behind it, so nothing that
 * scores depth depends on how it was predicted.
 */
import type { RasterU8 } from "../io/raster.ts";
import type { HeadKind } from "./model/config.ts";
import { type DepthEngine, inferDepth } from "./predict.ts";

export interface DepthPrediction {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
  /** The network input size it was computed at, where the estimator runs one of trompe's engines. */
  readonly network?: { readonly width: number; readonly height: number };
}

/** A model as the evaluation sees it: a name, what it predicts, and depth for an image. */
export interface DepthEstimator {
  /** Shown in reports and used in file names. */
  readonly name: string;
  /** "depth": metric metres (metric head); "disparity": relative, ∝ inverse depth up to scale and shift. */
  readonly kind: "depth" | "disparity";
  /** Depth for one image, at any size (evaluation resizes it to the ground truth with align_corners). */
  predict(rgb: RasterU8): Promise<DepthPrediction>;
  dispose?(): void;
}

/**
 * A model on one of trompe's engines (the WGSL model, an ONNX export) as an estimator: the official inference
 * path (image2tensor at `inputSize`, forward, align_corners back to the image size).
 */
export function engineEstimator(
  name: string,
  engine: DepthEngine,
  head: HeadKind,
  inputSize: number,
): DepthEstimator {
  return {
    name,
    kind: head === "metric" ? "depth" : "disparity",
    async predict(rgb) {
      const { depth, width, height, network } = await inferDepth(engine, rgb, inputSize);
      return { data: depth, width, height, network };
    },
    dispose: () => engine.dispose(),
  };
}

/**
 * `estimator` with its predictions remembered by image content: a model evaluated twice on the same frames
 * (the demo's starting model, before fine-tuning and again beside the fine-tuned one) runs once per frame.
 */
export function remembering(estimator: DepthEstimator): DepthEstimator {
  const seen = new Map<string, Promise<DepthPrediction>>();
  const key = (rgb: RasterU8) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < rgb.data.length; i++) h = Math.imul(h ^ rgb.data[i], 0x01000193);
    return `${rgb.width}x${rgb.height}:${h >>> 0}`;
  };
  return {
    name: estimator.name,
    kind: estimator.kind,
    predict(rgb) {
      const k = key(rgb);
      let hit = seen.get(k);
      if (!hit) seen.set(k, hit = estimator.predict(rgb));
      return hit;
    },
    dispose: () => estimator.dispose?.(),
  };
}
