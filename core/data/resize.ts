/**
 * OpenCV's `cv::resize`, as the official preprocessing calls it: INTER_CUBIC on float64 images and
 * INTER_NEAREST on depth and masks. Written from OpenCV's documented algorithm (imgproc/src/resize.cpp,
 * `resize` + `HResizeCubic`/`VResizeCubic` + `resizeNN`) so that trompe's inputs equal the official ones.
 *
 * The details that decide the last bits:
 * - the scale is `1 / (dst / src)` (OpenCV stores the inverse scale and inverts it);
 * - the source coordinate `(d + 0.5)·scale − 0.5` is rounded to float32 before its floor is taken, and the
 *   Keys (a = −0.75) weights are computed in float32 arithmetic and kept as float32;
 * - taps outside the image repeat the edge pixel (replicate border), and there is no antialiasing even when
 *   shrinking;
 * - the weighted sums themselves run in float64 (the image's type), horizontally first, then vertically.
 */
import { TrompeError } from "../errors.ts";

const f32 = Math.fround;

/** OpenCV's `interpolateCubic` (a = −0.75) in float32 arithmetic, one rounding per operation as in C. */
function cubicWeightsF32(x: number, out: Float64Array, at: number): void {
  const a = -0.75;
  const x1 = f32(x + 1);
  const w0 = f32(f32(f32(f32(f32(f32(a * x1) - 5 * a) * x1) + 8 * a) * x1) - 4 * a);
  const w1 = f32(f32(f32(f32(f32((a + 2) * x) - (a + 3)) * x) * x) + 1);
  const y = f32(1 - x);
  const w2 = f32(f32(f32(f32(f32((a + 2) * y) - (a + 3)) * y) * y) + 1);
  out[at] = w0;
  out[at + 1] = w1;
  out[at + 2] = w2;
  out[at + 3] = f32(f32(f32(1 - w0) - w1) - w2);
}

/** Four clamped source indices and their weights for each destination index along one axis. */
function cubicTaps(srcSize: number, dstSize: number): { index: Int32Array; weight: Float64Array } {
  const scale = 1 / (dstSize / srcSize);
  const index = new Int32Array(dstSize * 4);
  const weight = new Float64Array(dstSize * 4);
  for (let d = 0; d < dstSize; d++) {
    const f = f32((d + 0.5) * scale - 0.5);
    const s = Math.floor(f);
    cubicWeightsF32(f32(f - s), weight, d * 4);
    for (let k = 0; k < 4; k++) index[d * 4 + k] = Math.min(Math.max(s - 1 + k, 0), srcSize - 1);
  }
  return { index, weight };
}

function checkSizes(what: string, srcW: number, srcH: number, dstW: number, dstH: number): void {
  for (const n of [srcW, srcH, dstW, dstH]) {
    if (!Number.isInteger(n) || n < 1) {
      throw new TrompeError("bad-argument", `${what}: sizes must be positive integers`, {
        subject: `${srcW}x${srcH} -> ${dstW}x${dstH}`,
      });
    }
  }
}

/**
 * `cv2.resize(src, (dstW, dstH), interpolation=cv2.INTER_CUBIC)` for a float64 image stored row-major with
 * `channels` interleaved values per pixel (H×W×C, as numpy holds it).
 */
export function resizeCubicOpenCV(
  src: Float64Array,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
): Float64Array {
  checkSizes("resizeCubicOpenCV", srcW, srcH, dstW, dstH);
  if (src.length !== srcW * srcH * channels) {
    throw new TrompeError("shape-mismatch", `expected ${srcW}x${srcH}x${channels} values, got ${src.length}`);
  }
  const xt = cubicTaps(srcW, dstW);
  const yt = cubicTaps(srcH, dstH);
  // Horizontal pass over every source row (OpenCV caches rows; each is computed identically).
  const rowLen = dstW * channels;
  const rows = new Float64Array(srcH * rowLen);
  for (let y = 0; y < srcH; y++) {
    const srow = y * srcW * channels;
    for (let dx = 0; dx < dstW; dx++) {
      const t = dx * 4;
      for (let c = 0; c < channels; c++) {
        let v = 0;
        for (let k = 0; k < 4; k++) v += src[srow + xt.index[t + k] * channels + c] * xt.weight[t + k];
        rows[y * rowLen + dx * channels + c] = v;
      }
    }
  }
  const out = new Float64Array(dstH * rowLen);
  for (let dy = 0; dy < dstH; dy++) {
    const t = dy * 4;
    const r0 = yt.index[t] * rowLen, r1 = yt.index[t + 1] * rowLen;
    const r2 = yt.index[t + 2] * rowLen, r3 = yt.index[t + 3] * rowLen;
    const b0 = yt.weight[t], b1 = yt.weight[t + 1], b2 = yt.weight[t + 2], b3 = yt.weight[t + 3];
    const o = dy * rowLen;
    for (let x = 0; x < rowLen; x++) {
      out[o + x] = rows[r0 + x] * b0 + rows[r1 + x] * b1 + rows[r2 + x] * b2 + rows[r3 + x] * b3;
    }
  }
  return out;
}

/**
 * The source index OpenCV's INTER_NEAREST reads for each destination index along one axis:
 * `min(floor(d·scale), src − 1)` with `scale = 1 / (dst / src)` (OpenCV's `resizeNN`; not INTER_NEAREST_EXACT,
 * which would centre the samples).
 */
export function nearestIndicesOpenCV(srcSize: number, dstSize: number): Int32Array {
  checkSizes("nearestIndicesOpenCV", srcSize, 1, dstSize, 1);
  const scale = 1 / (dstSize / srcSize);
  const out = new Int32Array(dstSize);
  for (let d = 0; d < dstSize; d++) out[d] = Math.min(Math.floor(d * scale), srcSize - 1);
  return out;
}
