/**
 * The official inference preprocessing, `DepthAnythingV2.image2tensor` (depth_anything_v2/dpt.py): RGB/255 in
 * float64, `Resize(keep_aspect_ratio, ensure_multiple_of=14, resize_method="lower_bound", INTER_CUBIC)`,
 * `NormalizeImage` (ImageNet mean/std) and `PrepareForNet` (HWC → CHW, cast to float32), all from
 * depth_anything_v2/util/transform.py. Every step is float64 until the final cast, as numpy does it, so the
 * tensor matches the official one to the last float32 bit (up to summation order inside the resize).
 */
import { TrompeError } from "../errors.ts";
import type { RasterU8 } from "../io/raster.ts";
import { resizeCubicOpenCV } from "./resize.ts";

export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;
/** The ViT patch size: both sides of the network input are multiples of it. */
export const PATCH_SIZE = 14;

/** numpy's `np.round` (round half to even), which the official size rule uses. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** `Resize.constrain_to_multiple_of(x, min_val)`: nearest multiple (half to even), ceil if below the minimum. */
function constrainToMultiple(x: number, min: number, multiple: number): number {
  const y = roundHalfEven(x / multiple) * multiple;
  return y < min ? Math.ceil(x / multiple) * multiple : y;
}

/**
 * The network input size the official `Resize` picks (`get_size` with lower_bound + keep_aspect_ratio): the
 * larger scale makes both sides reach `inputSize`, then each side snaps to a multiple of 14 not below it.
 */
export function inputSizeFor(
  width: number,
  height: number,
  inputSize = 518,
): { width: number; height: number } {
  if (!(width >= 1 && height >= 1 && inputSize >= 1)) {
    throw new TrompeError("bad-argument", "image and input sizes must be positive", {
      subject: `${width}x${height} at ${inputSize}`,
    });
  }
  let scaleH = inputSize / height;
  let scaleW = inputSize / width;
  if (scaleW > scaleH) scaleH = scaleW;
  else scaleW = scaleH;
  return {
    width: constrainToMultiple(scaleW * width, inputSize, PATCH_SIZE),
    height: constrainToMultiple(scaleH * height, inputSize, PATCH_SIZE),
  };
}

/**
 * RGB as float64 in [0, 1], H×W×3 interleaved (`cv2.cvtColor(img, BGR2RGB) / 255.0`). Gray is replicated and
 * alpha dropped, as `cv2.imread`'s default IMREAD_COLOR does before the official code sees the image.
 */
export function rgbToUnitFloat64(rgb: RasterU8): Float64Array {
  const { width, height, channels, data } = rgb;
  const n = width * height;
  if (data.length !== n * channels) {
    throw new TrompeError("shape-mismatch", `raster ${width}x${height}x${channels} has ${data.length} bytes`);
  }
  const out = new Float64Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * channels + (channels === 1 ? 0 : c)] / 255;
  }
  return out;
}

/**
 * `NormalizeImage` + `PrepareForNet` on an H×W×3 float64 image: (x − mean) / std in float64, then CHW float32.
 * `window` selects the pixels kept (the training crop) and `flip` mirrors them horizontally.
 */
export function normalizeToCHW(
  hwc: Float64Array,
  width: number,
  window: { x: number; y: number; width: number; height: number; flip?: boolean },
): Float32Array {
  const { x: x0, y: y0, width: w, height: h, flip = false } = window;
  const out = new Float32Array(3 * w * h);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGENET_MEAN[c];
    const std = IMAGENET_STD[c];
    for (let y = 0; y < h; y++) {
      const row = (y0 + y) * width;
      for (let x = 0; x < w; x++) {
        const sx = x0 + (flip ? w - 1 - x : x);
        out[(c * h + y) * w + x] = (hwc[(row + sx) * 3 + c] - mean) / std;
      }
    }
  }
  return out;
}

/** The official `image2tensor`: a 1×3×h×w float32 network input for an RGB image. */
export function image2tensor(
  rgb: RasterU8,
  inputSize = 518,
): { data: Float32Array; shape: [1, 3, number, number] } {
  const size = inputSizeFor(rgb.width, rgb.height, inputSize);
  const resized = resizeCubicOpenCV(rgbToUnitFloat64(rgb), rgb.width, rgb.height, 3, size.width, size.height);
  const data = normalizeToCHW(resized, size.width, { x: 0, y: 0, ...size });
  return { data, shape: [1, 3, size.height, size.width] };
}
