/// <reference lib="dom" />
/**
 * The region the user asks about: a rectangle dragged on any depth map, or a mask image (an augmented set's
 * masks/ PNG: 1 mirror, 2 art; any other non-zero value counts as art), and each model's verdict on it —
 * trompe's flatness error (RMS relative residual of a plane fitted to inverse depth) and whether the region
 * fooled the model (error above 2 %: it saw depth in something flat).
 */
import { ART, flatRegions, MIRROR, type RasterU8, type RegionResult } from "../web.ts";

/** Per-pixel labels at the image's size: 0 outside any region. */
export interface RegionMask {
  readonly labels: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** How it was given, for the page to say. */
  readonly source: string;
}

/** The fooled threshold on flatness error (DESIGN.md's default). */
export const FOOLED_THRESHOLD = 0.02;

export function rectangleMask(
  width: number,
  height: number,
  corners: { x0: number; y0: number; x1: number; y1: number },
): RegionMask {
  const [left, right] = [
    Math.max(0, Math.min(corners.x0, corners.x1)),
    Math.min(width - 1, Math.max(corners.x0, corners.x1)),
  ];
  const [top, bottom] = [
    Math.max(0, Math.min(corners.y0, corners.y1)),
    Math.min(height - 1, Math.max(corners.y0, corners.y1)),
  ];
  const labels = new Uint8Array(width * height);
  for (let y = top; y <= bottom; y++) labels.fill(ART, y * width + left, y * width + right + 1);
  return { labels, width, height, source: `rectangle (${left}, ${top})–(${right}, ${bottom})` };
}

/** A mask image's first channel as labels: 1 stays a mirror, any other non-zero value is art. */
export function maskFromImage(image: RasterU8, source: string): RegionMask {
  const { width, height, channels, data } = image;
  const labels = new Uint8Array(width * height);
  for (let i = 0; i < labels.length; i++) {
    const v = data[channels * i];
    labels[i] = v === 0 ? 0 : v === MIRROR ? MIRROR : ART;
  }
  return { labels, width, height, source };
}

/** Each region's flatness error and verdict for one prediction (`unit` "" = a relative head's disparity). */
export function judgeRegions(depth: Float32Array, unit: string, mask: RegionMask): RegionResult[] {
  const none = new Float32Array(depth.length);
  return flatRegions(depth, none, none, mask.labels, mask.width, mask.height, {
    threshold: FOOLED_THRESHOLD,
    kind: unit ? "depth" : "disparity",
  });
}

/** "region 1 (art, 1 200 px): flatness error 3.10 %, fooled". */
export function describeRegion(region: RegionResult, index: number): string {
  const kind = region.label === MIRROR ? "mirror" : "art";
  const error = Number.isNaN(region.flatnessError)
    ? "no fit"
    : `${(100 * region.flatnessError).toFixed(2)} %`;
  return `region ${index + 1} (${kind}, ${region.pixels} px): flatness error ${error}, ` +
    (region.fooled ? "fooled (sees depth in a flat thing)" : "not fooled (sees it flat)");
}
