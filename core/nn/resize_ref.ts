/**
 * Float64 references for the two PyTorch resizes the model uses, each with its adjoint (backward). They live
 * in core, not beside their tests, because the CPU work that needs float64 runs them too: the depth map's
 * resize to the image and the ground truth (predict, evaluation), and the position-embedding matrices.
 * - `F.interpolate(x, size, mode="bilinear", align_corners=True)`: the DPT head's upsampling and
 *   `infer_image`'s resize of the depth map back to the image size;
 * - `F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)`: DINOv2's position-embedding
 *   resize, where the *given* scale (not out/in) maps output to source coordinates.
 * Tensors are C×H×W row-major (fold the batch into C). Both resizes are separable: along each axis every
 * output index reads a few source indices with fixed weights (`Taps`), so forward and backward share them.
 */
import { TrompeError } from "../errors.ts";

/** For each output index along one axis: `k` source indices (already clamped) and their weights. */
interface Taps {
  readonly k: number;
  readonly index: Int32Array;
  readonly weight: Float64Array;
}

/** PyTorch's align_corners=True source index `i·(in−1)/(out−1)`, linear weights, upper tap clamped. */
function bilinearTaps(inSize: number, outSize: number): Taps {
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  const index = new Int32Array(outSize * 2);
  const weight = new Float64Array(outSize * 2);
  for (let i = 0; i < outSize; i++) {
    const real = scale * i;
    const i0 = Math.floor(real);
    const lambda = real - i0;
    index[2 * i] = i0;
    index[2 * i + 1] = i0 < inSize - 1 ? i0 + 1 : i0;
    weight[2 * i] = 1 - lambda;
    weight[2 * i + 1] = lambda;
  }
  return { k: 2, index, weight };
}

/** PyTorch's `get_cubic_upsample_coefficients` (Keys, a = −0.75) for the fraction t ∈ [0, 1). */
function cubicCoefficients(t: number, out: Float64Array, at: number): void {
  const a = -0.75;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  out[at] = far(t + 1);
  out[at + 1] = near(t);
  out[at + 2] = near(1 - t);
  out[at + 3] = far(2 - t);
}

/**
 * PyTorch's bicubic taps with `scale_factor` given: source `(i + 0.5)/scale − 0.5` (computed as
 * `(1/scale)·(i + 0.5) − 0.5`, as `area_pixel_compute_source_index` does), unclamped for cubic, then the four
 * neighbours clamped to the border (`upsample_get_value_bounded`).
 */
function bicubicTaps(inSize: number, outSize: number, scale: number): Taps {
  const inv = 1 / scale;
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  for (let i = 0; i < outSize; i++) {
    const real = inv * (i + 0.5) - 0.5;
    const i0 = Math.floor(real);
    cubicCoefficients(real - i0, weight, 4 * i);
    for (let j = 0; j < 4; j++) index[4 * i + j] = Math.min(Math.max(i0 - 1 + j, 0), inSize - 1);
  }
  return { k: 4, index, weight };
}

/** out[c, y, x] = Σ wy·wx·src[c, iy, ix]: along W first, then along H. */
function applySeparable(
  src: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  ty: Taps,
  tx: Taps,
): Float64Array {
  const outH = ty.index.length / ty.k;
  const outW = tx.index.length / tx.k;
  const rows = new Float64Array(inH * outW);
  const out = new Float64Array(channels * outH * outW);
  for (let c = 0; c < channels; c++) {
    const plane = c * inH * inW;
    for (let y = 0; y < inH; y++) {
      for (let x = 0; x < outW; x++) {
        let v = 0;
        for (let j = 0; j < tx.k; j++) {
          v += tx.weight[x * tx.k + j] * src[plane + y * inW + tx.index[x * tx.k + j]];
        }
        rows[y * outW + x] = v;
      }
    }
    const o = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      for (let j = 0; j < ty.k; j++) {
        const w = ty.weight[y * ty.k + j];
        const r = ty.index[y * ty.k + j] * outW;
        for (let x = 0; x < outW; x++) out[o + y * outW + x] += w * rows[r + x];
      }
    }
  }
  return out;
}

/** The adjoint of `applySeparable`: scatters each output gradient back along the same taps. */
function applySeparableTransposed(
  gradOut: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  ty: Taps,
  tx: Taps,
): Float64Array {
  const outH = ty.index.length / ty.k;
  const outW = tx.index.length / tx.k;
  const rows = new Float64Array(inH * outW);
  const gradIn = new Float64Array(channels * inH * inW);
  for (let c = 0; c < channels; c++) {
    rows.fill(0);
    const o = c * outH * outW;
    for (let y = 0; y < outH; y++) {
      for (let j = 0; j < ty.k; j++) {
        const w = ty.weight[y * ty.k + j];
        const r = ty.index[y * ty.k + j] * outW;
        for (let x = 0; x < outW; x++) rows[r + x] += w * gradOut[o + y * outW + x];
      }
    }
    const plane = c * inH * inW;
    for (let y = 0; y < inH; y++) {
      for (let x = 0; x < outW; x++) {
        const g = rows[y * outW + x];
        for (let j = 0; j < tx.k; j++) {
          gradIn[plane + y * inW + tx.index[x * tx.k + j]] += tx.weight[x * tx.k + j] * g;
        }
      }
    }
  }
  return gradIn;
}

function checkShape(what: string, data: { length: number }, channels: number, h: number, w: number): void {
  for (const n of [channels, h, w]) {
    if (!Number.isInteger(n) || n < 1) {
      throw new TrompeError("bad-argument", `${what}: sizes must be positive integers`, {
        subject: `${channels}x${h}x${w}`,
      });
    }
  }
  if (data.length !== channels * h * w) {
    throw new TrompeError(
      "shape-mismatch",
      `${what}: expected ${channels}x${h}x${w} values, got ${data.length}`,
    );
  }
}

/** `F.interpolate(src, (outH, outW), mode="bilinear", align_corners=True)` on C×inH×inW. */
export function bilinearAlignCorners(
  src: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float64Array {
  checkShape("bilinearAlignCorners", src, channels, inH, inW);
  checkShape("bilinearAlignCorners", { length: channels * outH * outW }, channels, outH, outW);
  return applySeparable(src, channels, inH, inW, bilinearTaps(inH, outH), bilinearTaps(inW, outW));
}

/** Gradient w.r.t. the C×inH×inW input of `bilinearAlignCorners`, given the C×outH×outW output gradient. */
export function bilinearAlignCornersBackward(
  gradOut: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  outH: number,
  outW: number,
): Float64Array {
  checkShape("bilinearAlignCornersBackward", gradOut, channels, outH, outW);
  return applySeparableTransposed(
    gradOut,
    channels,
    inH,
    inW,
    bilinearTaps(inH, outH),
    bilinearTaps(inW, outW),
  );
}

/** PyTorch's output size for `scale_factor`: `floor(in·scale)` (recompute_scale_factor unset). */
export function bicubicOutputSize(inSize: number, scale: number): number {
  return Math.floor(inSize * scale);
}

/**
 * `F.interpolate(src, scale_factor=(scaleH, scaleW), mode="bicubic", align_corners=False, antialias=False)` on
 * C×inH×inW; the output is C×floor(inH·scaleH)×floor(inW·scaleW).
 */
export function bicubicScaleFactor(
  src: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  scaleH: number,
  scaleW: number,
): { data: Float64Array; outH: number; outW: number } {
  checkShape("bicubicScaleFactor", src, channels, inH, inW);
  const outH = bicubicOutputSize(inH, scaleH);
  const outW = bicubicOutputSize(inW, scaleW);
  checkShape("bicubicScaleFactor", { length: channels * outH * outW }, channels, outH, outW);
  const data = applySeparable(
    src,
    channels,
    inH,
    inW,
    bicubicTaps(inH, outH, scaleH),
    bicubicTaps(inW, outW, scaleW),
  );
  return { data, outH, outW };
}

/** Gradient w.r.t. the input of `bicubicScaleFactor` (the position embedding's gradient in training). */
export function bicubicScaleFactorBackward(
  gradOut: Float64Array | Float32Array,
  channels: number,
  inH: number,
  inW: number,
  scaleH: number,
  scaleW: number,
): Float64Array {
  const outH = bicubicOutputSize(inH, scaleH);
  const outW = bicubicOutputSize(inW, scaleW);
  checkShape("bicubicScaleFactorBackward", gradOut, channels, outH, outW);
  return applySeparableTransposed(
    gradOut,
    channels,
    inH,
    inW,
    bicubicTaps(inH, outH, scaleH),
    bicubicTaps(inW, outW, scaleW),
  );
}
