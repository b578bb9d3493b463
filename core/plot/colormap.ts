/**
 * Depth to colour for previews: inverse depth (near = warm) through a colour map — Google's Turbo (trompe's
 * default), matplotlib's Spectral_r (run.py's) or grey (run.py's --grayscale) — each as linear interpolation
 * between samples of it (close enough for looking at; not a measurement).
 */
import type { RasterU8 } from "../io/raster.ts";

const TURBO: readonly (readonly [number, number, number])[] = [
  [48, 18, 59],
  [70, 107, 227],
  [40, 187, 236],
  [50, 241, 152],
  [164, 252, 60],
  [237, 208, 58],
  [251, 128, 34],
  [206, 45, 4],
  [122, 4, 3],
];

/** matplotlib's Spectral_r (ColorBrewer's 11 samples, reversed): run.py's map, near = dark red. */
const SPECTRAL_R: readonly (readonly [number, number, number])[] = [
  [94, 79, 162],
  [50, 136, 189],
  [102, 194, 165],
  [171, 221, 164],
  [230, 245, 152],
  [255, 255, 191],
  [254, 224, 139],
  [253, 174, 97],
  [244, 109, 67],
  [213, 62, 79],
  [158, 1, 66],
];

/** A colour map: t in [0, 1] (clamped; 1 = near) to RGB. */
export type ColorMap = (t: number) => [number, number, number];

function interpolate(samples: readonly (readonly [number, number, number])[], t: number) {
  const x = Math.min(1, Math.max(0, t)) * (samples.length - 1);
  const i = Math.min(samples.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(samples[i][c] + (samples[i + 1][c] - samples[i][c]) * f)) as [
    number,
    number,
    number,
  ];
}

/** Turbo at t in [0, 1] (clamped). */
export function turbo(t: number): [number, number, number] {
  return interpolate(TURBO, t);
}

export const COLOR_MAPS = {
  turbo,
  spectral: (t: number) => interpolate(SPECTRAL_R, t),
  gray: (t: number) => {
    const v = Math.round(Math.min(1, Math.max(0, t)) * 255);
    return [v, v, v];
  },
} as const satisfies Record<string, ColorMap>;

export type ColorMapName = keyof typeof COLOR_MAPS;
export const COLOR_MAP_NAMES = Object.keys(COLOR_MAPS) as ColorMapName[];

/**
 * The depth range a preview colours over: the 2nd and 98th percentiles of valid inverse depth, as `near` and
 * `far` metres (NaN when nothing is valid).
 */
export function inverseDepthRange(depth: Float32Array, valid: Uint8Array): { near: number; far: number } {
  const inverse: number[] = [];
  for (let i = 0; i < depth.length; i++) if (valid[i] && depth[i] > 0) inverse.push(1 / depth[i]);
  if (inverse.length === 0) return { near: NaN, far: NaN };
  inverse.sort((a, b) => a - b);
  const lo = inverse[Math.floor(inverse.length * 0.02)];
  const hi = inverse[Math.floor((inverse.length - 1) * 0.98)];
  return { near: 1 / hi, far: 1 / lo };
}

/**
 * Colours valid pixels by inverse depth between `range` (default: the 2nd and 98th percentiles) — the map's
 * near end (turbo's warm one) at `near` — and invalid pixels black.
 */
export function colorizeDepth(
  depth: Float32Array,
  valid: Uint8Array,
  width: number,
  height: number,
  range: { near: number; far: number } = inverseDepthRange(depth, valid),
  color: ColorMap = turbo,
): RasterU8 {
  const lo = Number.isFinite(range.far) ? 1 / range.far : 0;
  const hi = Number.isFinite(range.near) ? 1 / range.near : 1;
  const span = hi > lo ? hi - lo : 1;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < depth.length; i++) {
    if (!valid[i] || !(depth[i] > 0)) continue;
    data.set(color((1 / depth[i] - lo) / span), 3 * i);
  }
  return { width, height, channels: 3, data };
}
