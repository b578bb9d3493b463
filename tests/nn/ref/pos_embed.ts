/**
 * Float64 reference of DINOv2's interpolate_pos_encoding on the token layout [1 + M², C] → [1 + h·w, C]
 * (../shared/reference/README.md §4), and its adjoint — written plainly here from PyTorch's CPU kernel
 * (aten/src/ATen/native/UpSampleBicubic2d.cpp, `upsample_bicubic2d_out_frame`), independently of trompe's
 * resize code: each output pixel is one direct 4×4 sum, not separable tap matrices.
 *
 * With `scale_factor` given, PyTorch's scale for the source index is 1/scale_factor (not in/out); the source
 * coordinate is (1/scale)·(i + 0.5) − 0.5 (align_corners=False, not clamped for cubic); the four neighbours
 * of floor(coordinate) are clamped to the border; the weights are Keys' cubic convolution with A = −0.75.
 */

const A = -0.75;

/** Keys' kernel for |x| ≤ 1 and 1 < |x| < 2 (PyTorch's cubic_convolution1 and cubic_convolution2). */
function cubic1(x: number): number {
  return ((A + 2) * x - (A + 3)) * x * x + 1;
}
function cubic2(x: number): number {
  return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;
}

/** The four weights of the neighbours floor(real) − 1 … floor(real) + 2, and the first neighbour. */
function taps(i: number, scale: number): { first: number; weights: [number, number, number, number] } {
  const real = (1 / scale) * (i + 0.5) - 0.5;
  const first = Math.floor(real) - 1;
  const t = real - Math.floor(real);
  return { first, weights: [cubic2(t + 1), cubic1(t), cubic1(1 - t), cubic2(2 - t)] };
}

const clamp = (v: number, size: number) => Math.min(Math.max(v, 0), size - 1);

/** The scale factors DINOv2 passes, or undefined where it keeps the grid (same count, square input). */
function scales(grid: number, h: number, w: number): [number, number] | undefined {
  if (h * w === grid * grid && h === w) return undefined;
  const s: [number, number] = [(h + 0.1) / grid, (w + 0.1) / grid];
  // F.interpolate's output size is floor(in · scale): it must be the patch grid.
  if (Math.floor(grid * s[0]) !== h || Math.floor(grid * s[1]) !== w) throw new Error("output size mismatch");
  return s;
}

export function posEmbed(pos: ArrayLike<number>, channels: number, h: number, w: number): Float64Array {
  const grid = Math.round(Math.sqrt(pos.length / channels - 1));
  const s = scales(grid, h, w);
  if (!s) return Float64Array.from(pos);
  const out = new Float64Array((1 + h * w) * channels);
  for (let c = 0; c < channels; c++) out[c] = pos[c]; // the class token's row is kept
  for (let oy = 0; oy < h; oy++) {
    const ty = taps(oy, s[0]);
    for (let ox = 0; ox < w; ox++) {
      const tx = taps(ox, s[1]);
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            const y = clamp(ty.first + i, grid), x = clamp(tx.first + j, grid);
            sum += ty.weights[i] * tx.weights[j] * pos[(1 + y * grid + x) * channels + c];
          }
        }
        out[(1 + oy * w + ox) * channels + c] = sum;
      }
    }
  }
  return out;
}

/** The adjoint of posEmbed: each output's gradient scattered back to the 16 inputs it read. */
export function posEmbedBackward(
  dOut: ArrayLike<number>,
  channels: number,
  grid: number,
  h: number,
  w: number,
): Float64Array {
  const s = scales(grid, h, w);
  if (!s) return Float64Array.from(dOut);
  const out = new Float64Array((1 + grid * grid) * channels);
  for (let c = 0; c < channels; c++) out[c] = dOut[c];
  for (let oy = 0; oy < h; oy++) {
    const ty = taps(oy, s[0]);
    for (let ox = 0; ox < w; ox++) {
      const tx = taps(ox, s[1]);
      for (let c = 0; c < channels; c++) {
        const g = dOut[(1 + oy * w + ox) * channels + c];
        for (let i = 0; i < 4; i++) {
          for (let j = 0; j < 4; j++) {
            const y = clamp(ty.first + i, grid), x = clamp(tx.first + j, grid);
            out[(1 + y * grid + x) * channels + c] += ty.weights[i] * tx.weights[j] * g;
          }
        }
      }
    }
  }
  return out;
}
