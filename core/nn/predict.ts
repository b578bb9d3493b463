/**
 * Inference on one image, the same for every engine: the official `image2tensor` (lower-bound resize to a
 * multiple of 14, INTER_CUBIC, ImageNet normalisation) → the engine's forward → bilinear align_corners=True
 * back to the image size in float64 (what `infer_image` returns). Engines only map a network input to a
 * network-sized depth map, so WGSL and ONNX results differ by their forward alone.
 */
import type { RasterU8 } from "../io/raster.ts";
import { image2tensor, normalizeToCHW, rgbToUnitFloat64 } from "../data/preprocess.ts";
import { resizeCubicOpenCV } from "../data/resize.ts";
import { bilinearAlignCorners } from "./resize_ref.ts";
import { TrompeError } from "../errors.ts";

/** A depth model behind the shared inference path: a network input in, network-sized depth out. */
export interface DepthEngine {
  /** "webgpu" or "onnx", for records and messages. */
  readonly kind: string;
  /** Set when the model accepts one input size only (an ONNX export without dynamic axes). */
  readonly fixedInput?: { height: number; width: number };
  /** input: 1×3×height×width float32 → depth height×width (metres for metric models, disparity otherwise). */
  forward(input: Float32Array, height: number, width: number): Promise<Float32Array>;
  dispose(): void;
}

/** Depth at the image's size, and the network input size it was computed at. */
export interface DepthResult {
  /** height×width at the image's size. */
  depth: Float32Array;
  width: number;
  height: number;
  /** The network input size used. */
  network: { width: number; height: number };
}

/** The network input: the official `image2tensor`, or a plain resize to the engine's fixed size. */
export function networkInput(
  rgb: RasterU8,
  inputSize: number,
  fixed?: { height: number; width: number },
): { data: Float32Array; height: number; width: number } {
  if (!fixed) {
    const { data, shape } = image2tensor(rgb, inputSize);
    return { data, height: shape[2], width: shape[3] };
  }
  // A fixed-size model was exported for inputs resized to that size regardless of aspect.
  const resized = resizeCubicOpenCV(
    rgbToUnitFloat64(rgb),
    rgb.width,
    rgb.height,
    3,
    fixed.width,
    fixed.height,
  );
  const data = normalizeToCHW(resized, fixed.width, { x: 0, y: 0, ...fixed });
  return { data, ...fixed };
}

/**
 * The official `infer_image` on any engine: image2tensor at `inputSize`, the forward, and an align_corners
 * resize back to the image's size.
 */
export async function inferDepth(engine: DepthEngine, rgb: RasterU8, inputSize = 518): Promise<DepthResult> {
  const input = networkInput(rgb, inputSize, engine.fixedInput);
  const small = await engine.forward(input.data, input.height, input.width);
  requireFiniteDepth(small);
  const full = bilinearAlignCorners(small, 1, input.height, input.width, rgb.height, rgb.width);
  return {
    depth: Float32Array.from(full),
    width: rgb.width,
    height: rgb.height,
    network: { width: input.width, height: input.height },
  };
}

/** A depth map with NaN or infinity is a broken model or input, never a result to save or score. */
function requireFiniteDepth(depth: Float32Array): void {
  let bad = 0;
  for (let i = 0; i < depth.length; i++) if (depth[i] - depth[i] !== 0) bad++;
  if (bad === 0) return;
  throw new TrompeError(
    "non-finite",
    `the model's output is NaN or infinite at ${bad} of ${depth.length} pixels`,
    {
      hint: "the weights or the input are broken",
    },
  );
}
