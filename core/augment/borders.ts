/**
 * Borders (picture frames, mirror rims): a band of the picture plane just outside the shape, so the frame
 * takes the same perspective as the picture. A bevel shades the band as a raised moulding lit from the top
 * left, which is what makes a frame read as a frame rather than a painted outline.
 */
import type { Rng } from "../rng.ts";
import type { Sdf } from "./shapes.ts";

export type Rgb = readonly [number, number, number];

export interface Border {
  /** Width in plane units (0 = no border). */
  readonly width: number;
  readonly colour: Rgb;
  /** 0 = flat colour, 1 = strong moulding. */
  readonly bevel: number;
}

export const NO_BORDER: Border = { width: 0, colour: [0, 0, 0], bevel: 0 };

export interface BorderOptions {
  /** Probability that an object gets a border at all. */
  readonly probability: number;
  /** Width range as a fraction of the picture's shorter side. */
  readonly width: readonly [number, number];
  /** Fixed palette to draw from; empty = any colour. */
  readonly palette: readonly Rgb[];
  readonly bevel: readonly [number, number];
}

/** Draws a border whose width is a fraction of the picture's shorter side (scale it once the size is known). */
export function drawBorder(opts: BorderOptions, rng: Rng): Border {
  if (!rng.chance(opts.probability)) return NO_BORDER;
  const width = rng.uniform(opts.width[0], opts.width[1]);
  const colour: Rgb = opts.palette.length > 0
    ? opts.palette[rng.int(0, opts.palette.length - 1)]
    : [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)];
  return { width, colour, bevel: rng.uniform(opts.bevel[0], opts.bevel[1]) };
}

const LIGHT = [-Math.SQRT1_2, -Math.SQRT1_2] as const;

/**
 * Brightness factor of the border at plane point (x, y) whose signed distance is d (0 ≤ d < width): the
 * inner half of the moulding faces inward, the outer half outward, each lit by how it faces the light.
 */
export function bevelShade(border: Border, sdf: Sdf, x: number, y: number, d: number): number {
  if (border.bevel === 0 || border.width === 0) return 1;
  const eps = Math.max(border.width * 0.05, 1e-3);
  const gx = sdf(x + eps, y) - sdf(x - eps, y);
  const gy = sdf(x, y + eps) - sdf(x, y - eps);
  const len = Math.hypot(gx, gy) || 1;
  const facing = (gx * LIGHT[0] + gy * LIGHT[1]) / len;
  const side = d < border.width / 2 ? -1 : 1;
  return 1 + border.bevel * 0.6 * side * facing;
}
