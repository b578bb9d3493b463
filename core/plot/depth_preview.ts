/**
 * `deno task predict --save color`: the depth in colour with a numbered scale bar under it, and with
 * --side-by-side the RGB image to its left (run.py's default output). The bar says what the colours mean in
 * the model's own unit: metres for a metric head (ticks at round depths, spaced as the colouring is, in
 * inverse depth), relative disparity for a relative head, which has no unit and says so.
 */
import { COLOR_MAPS, colorizeDepth, type ColorMapName, inverseDepthRange } from "./colormap.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { HeadKind } from "../nn/model/config.ts";
import { formatMetres } from "./annotate.ts";
import { FONT, textWidth } from "./font.ts";
import { BLACK, Canvas } from "./canvas.ts";

export interface PreviewOptions {
  readonly head: HeadKind;
  readonly colorMap: ColorMapName;
  readonly sideBySide: boolean;
}

/** What the bar spans: metres for a metric head, disparity (unitless) for a relative one. */
export type PreviewRange =
  | { readonly unit: "m"; readonly near: number; readonly far: number }
  | { readonly unit: "relative disparity"; readonly near: number; readonly far: number };

interface Tick {
  /** Position along the colouring: 1 = near (the bar's left end), 0 = far. */
  readonly t: number;
  readonly label: string;
}

/** Two significant digits, as the labels show them. */
function round2(v: number): number {
  return Number(v.toPrecision(2));
}

function formatDisparity(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : String(round2(v));
}

/** The bar's ticks: the range's ends and even steps between them in what the colour is linear in. */
export function previewTicks(range: PreviewRange, steps: number): Tick[] {
  if (range.unit === "m") {
    const invNear = 1 / range.near, invFar = 1 / range.far, span = invNear - invFar || 1;
    const t = (z: number) => (1 / z - invFar) / span;
    const inner = Array.from(
      { length: steps - 1 },
      (_, k) => round2(1 / (invFar + ((k + 1) / steps) * span)),
    );
    return [range.near, range.far, ...inner].map((z) => ({ t: t(z), label: `${formatMetres(z)} m` }));
  }
  const span = range.near - range.far || 1;
  const t = (d: number) => (d - range.far) / span;
  const inner = Array.from({ length: steps - 1 }, (_, k) => round2(range.far + ((k + 1) / steps) * span));
  return [range.near, range.far, ...inner].map((d) => ({ t: t(d), label: formatDisparity(d) }));
}

/**
 * The preview: [RGB | gap |] colour depth, then the colour bar under the depth with numbered ticks and a
 * caption naming the unit. `values` is the model's output (metres, or disparity for a relative head).
 */
export function depthPreview(
  values: Float32Array,
  rgb: RasterU8,
  o: PreviewOptions,
): { image: RasterU8; range: PreviewRange } {
  const { width, height } = rgb;
  // Colour by inverse depth: a relative head's disparity is already inverse, so 1/disparity stands in for depth.
  const depth = o.head === "metric" ? values : values.map((d) => (d > 0 ? 1 / d : 0));
  const valid = Uint8Array.from(depth, (d) => (d > 0 && Number.isFinite(d) ? 1 : 0));
  const spanned = inverseDepthRange(depth, valid);
  const range: PreviewRange = o.head === "metric"
    ? { unit: "m", ...spanned }
    : { unit: "relative disparity", near: 1 / spanned.near, far: 1 / spanned.far };
  const color = COLOR_MAPS[o.colorMap];
  const colored = colorizeDepth(depth, valid, width, height, spanned, color);

  const scale = Math.max(1, Math.floor(width / 400));
  const gap = o.sideBySide ? Math.max(8, Math.round(width / 20)) : 0;
  const left = o.sideBySide ? width + gap : 0;
  const barH = Math.max(8, Math.round(height / 24));
  const labelH = FONT.lineHeight * scale;
  const caption = range.unit === "m" ? "depth, near to far" : "relative disparity (no unit), near to far";
  // A narrow image gets white room to its right so the caption is whole.
  const canvasW = Math.max(left + width, left + textWidth(caption, scale) + 2);
  const canvas = new Canvas(canvasW, height + 4 + barH + 3 + 2 * labelH + 4);
  if (o.sideBySide) canvas.drawImage(rgb, 0, 0);
  canvas.drawImage(colored, left, 0);

  const barY = height + 4;
  for (let x = 0; x < width; x++) {
    canvas.fillRect(left + x, barY, 1, barH, color(1 - x / Math.max(1, width - 1)));
  }
  canvas.strokeRect(left, barY, width, barH, BLACK);
  const labelY = barY + barH + 3;
  const kept: { from: number; to: number }[] = [];
  const steps = Math.max(2, Math.min(6, Math.floor(width / (textWidth("0.00 m", scale) * 2))));
  if (Number.isFinite(range.near) && Number.isFinite(range.far)) {
    for (const tick of previewTicks(range, steps)) {
      if (!(tick.t >= 0 && tick.t <= 1)) continue;
      const x = left + Math.round((1 - tick.t) * (width - 1));
      const w = textWidth(tick.label, scale);
      const from = Math.min(left + width - w, Math.max(left, x - Math.floor(w / 2)));
      if (
        kept.some((k) =>
          from < k.to + 2 * FONT.advance * scale && from + w > k.from - 2 * FONT.advance * scale
        )
      ) {
        continue;
      }
      kept.push({ from, to: from + w });
      canvas.fillRect(x, barY + barH - 4, 1, 4, BLACK);
      canvas.text(tick.label, from, labelY, BLACK, { scale });
    }
  }
  canvas.text(caption, left, labelY + labelH, BLACK, { scale });
  return { image: canvas.toRaster(), range };
}
