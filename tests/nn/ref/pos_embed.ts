/**
 * Float64 reference of DINOv2's interpolate_pos_encoding on the token layout [1 + M², C] → [1 + h·w, C]
 * (README §4), and its adjoint, through the CPU bicubic `scale_factor` resize.
 */
import { bicubicScaleFactor, bicubicScaleFactorBackward } from "../../../core/nn/resize_cpu.ts";

function scales(grid: number, h: number, w: number): [number, number] | undefined {
  if (h * w === grid * grid && h === w) return undefined;
  return [(h + 0.1) / grid, (w + 0.1) / grid];
}

export function posEmbed(pos: ArrayLike<number>, channels: number, h: number, w: number): Float64Array {
  const grid = Math.round(Math.sqrt(pos.length / channels - 1));
  const s = scales(grid, h, w);
  if (!s) return Float64Array.from(pos);
  const chw = new Float64Array(channels * grid * grid);
  for (let p = 0; p < grid * grid; p++) {
    for (let c = 0; c < channels; c++) chw[c * grid * grid + p] = pos[(1 + p) * channels + c];
  }
  const { data } = bicubicScaleFactor(chw, channels, grid, grid, s[0], s[1]);
  const out = new Float64Array((1 + h * w) * channels);
  for (let c = 0; c < channels; c++) out[c] = pos[c];
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < channels; c++) out[(1 + p) * channels + c] = data[c * h * w + p];
  }
  return out;
}

export function posEmbedBackward(
  dOut: ArrayLike<number>,
  channels: number,
  grid: number,
  h: number,
  w: number,
): Float64Array {
  const s = scales(grid, h, w);
  if (!s) return Float64Array.from(dOut);
  const chw = new Float64Array(channels * h * w);
  for (let p = 0; p < h * w; p++) {
    for (let c = 0; c < channels; c++) chw[c * h * w + p] = dOut[(1 + p) * channels + c];
  }
  const g = bicubicScaleFactorBackward(chw, channels, grid, grid, s[0], s[1]);
  const out = new Float64Array((1 + grid * grid) * channels);
  for (let c = 0; c < channels; c++) out[c] = dOut[c];
  for (let p = 0; p < grid * grid; p++) {
    for (let c = 0; c < channels; c++) out[(1 + p) * channels + c] = g[c * grid * grid + p];
  }
  return out;
}
