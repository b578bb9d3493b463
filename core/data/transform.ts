/**
 * The official metric-depth training transform (metric_depth/dataset/hypersim.py and vkitti2.py, train mode):
 * `Resize(lower_bound, keep aspect, multiple of 14)` with INTER_CUBIC for the image and INTER_NEAREST for depth
 * and mask, `NormalizeImage`, `PrepareForNet`, then `Crop(size)` at an offset drawn uniformly from every valid
 * position (`np.random.randint(0, h − size + 1)` for the rows, then the columns); train.py then flips image,
 * depth and mask together with p = 0.5. Here the draws come from a hash of (seed, sample id, epoch), never from
 * call order, so workers, shards and resumes all see the same crops.
 */
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "../io/raster.ts";
import { hashUnit } from "../rng.ts";
import { inputSizeFor, normalizeToCHW, rgbToUnitFloat64 } from "./preprocess.ts";
import { nearestIndicesOpenCV, resizeCubicOpenCV } from "./resize.ts";

export interface TrainSample {
  readonly rgb: RasterU8;
  /** H×W metres, row-major, at the image's size. */
  readonly depth: Float32Array;
  /** H×W, 1 where the depth is valid. */
  readonly valid: Uint8Array;
}

/** Where the crop sits in the resized sample, and whether it is mirrored. */
export interface TrainWindow {
  readonly x: number;
  readonly y: number;
  readonly flip: boolean;
}

export interface TrainItem {
  /** 3×size×size float32, ImageNet-normalised (the network input). */
  readonly image: Float32Array;
  /**
   * size×size metres; 0 where invalid (Hypersim's official loader writes 0 there, vKITTI2's keeps the sky value:
   * the loss masks both alike).
   */
  readonly depth: Float32Array;
  readonly valid: Uint8Array;
  readonly size: number;
  /** The resized (pre-crop) sample size and the window taken from it, for logs and tests. */
  readonly resized: { readonly width: number; readonly height: number };
  readonly window: TrainWindow;
}

export interface TrainTransformOptions {
  readonly size?: number;
  readonly seed: number;
  /** The sample's identity (its relative path, or its index in a fixed split). */
  readonly id: string | number;
  readonly epoch: number;
}

/** A uniform number in [0, 1) for one named draw of one sample in one epoch. */
function draw(options: TrainTransformOptions, what: string): number {
  return hashUnit(options.seed, "train-crop", options.id, options.epoch, what);
}

/** The crop offset and flip for a resized sample, drawn as the official `Crop` and train loop do. */
export function drawTrainWindow(
  resized: { width: number; height: number },
  options: TrainTransformOptions,
): TrainWindow {
  const size = options.size ?? 518;
  if (resized.width < size || resized.height < size) {
    throw new TrompeError(
      "bad-argument",
      `cannot crop ${size}x${size} from ${resized.width}x${resized.height}`,
    );
  }
  return {
    y: Math.floor(draw(options, "crop-y") * (resized.height - size + 1)),
    x: Math.floor(draw(options, "crop-x") * (resized.width - size + 1)),
    flip: draw(options, "flip") < 0.5,
  };
}

/** Resize (cubic image, nearest depth/mask), normalise, then take `window` of `size`×`size`. */
export function cropResized(sample: TrainSample, size: number, window: TrainWindow): TrainItem {
  const { rgb, depth, valid } = sample;
  const { width: W, height: H } = rgb;
  if (depth.length !== W * H || valid.length !== W * H) {
    throw new TrompeError("shape-mismatch", `depth/valid must have ${W}x${H} values to match the image`);
  }
  const resized = inputSizeFor(W, H, size);
  if (window.x < 0 || window.y < 0 || window.x + size > resized.width || window.y + size > resized.height) {
    throw new TrompeError(
      "bad-argument",
      `window (${window.x}, ${window.y}) leaves the ${resized.width}x${resized.height} sample`,
    );
  }
  const cubic = resizeCubicOpenCV(rgbToUnitFloat64(rgb), W, H, 3, resized.width, resized.height);
  const image = normalizeToCHW(cubic, resized.width, {
    x: window.x,
    y: window.y,
    width: size,
    height: size,
    flip: window.flip,
  });
  const rows = nearestIndicesOpenCV(H, resized.height);
  const cols = nearestIndicesOpenCV(W, resized.width);
  const outDepth = new Float32Array(size * size);
  const outValid = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    const srcRow = rows[window.y + y] * W;
    for (let x = 0; x < size; x++) {
      const src = srcRow + cols[window.x + (window.flip ? size - 1 - x : x)];
      const ok = valid[src] ? 1 : 0;
      outValid[y * size + x] = ok;
      outDepth[y * size + x] = ok ? depth[src] : 0;
    }
  }
  return { image, depth: outDepth, valid: outValid, size, resized, window };
}

/** The official training transform for one sample, deterministic in (seed, id, epoch). */
export function trainTransform(sample: TrainSample, options: TrainTransformOptions): TrainItem {
  const size = options.size ?? 518;
  const resized = inputSizeFor(sample.rgb.width, sample.rgb.height, size);
  return cropResized(sample, size, drawTrainWindow(resized, { ...options, size }));
}
