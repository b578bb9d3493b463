/**
 * What makes a contact sheet readable without its caption: column headings, a line of text per row, colour
 * bars with their scale, and a legend of swatches — drawn on the raster canvas in trompe's bitmap font, with
 * exact colours, so a test can find each one by its pixels. The worst-region sheet, the augment preview and
 * the dataset preview all use these.
 */
import { turbo } from "./colormap.ts";
import { FONT, textWidth } from "./font.ts";
import { BLACK, type Canvas, type Rgb } from "./canvas.ts";

/** Width of a colour bar's strip. */
export const BAR_W = 14;

/** Cuts text with an ellipsis to fit `width` pixels at `scale`. */
export function shorten(text: string, width: number, scale = 1): string {
  const chars = [...text];
  if (textWidth(text, scale) <= width) return text;
  const keep = Math.max(1, Math.floor((width / scale + 1) / FONT.advance) - 1);
  return chars.slice(0, keep).join("") + "…";
}

/** A compact length: two significant digits below 10, whole metres from 10 (0.45, 2.6, 13, 140). */
export function formatMetres(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return Math.abs(v) >= 10 ? v.toFixed(0) : v.toPrecision(2);
}

export interface Column {
  /** Left edge and width of the column the heading stands over. */
  readonly x: number;
  readonly width: number;
  readonly label: string;
}

/**
 * Headings centred over columns, at `scale` where they fit and smaller where not; returns the band's height
 * (the text plus a margin above and below).
 */
export function columnHeadings(canvas: Canvas, columns: readonly Column[], y: number, scale = 2): number {
  for (const c of columns) {
    const s = textWidth(c.label, scale) <= c.width ? scale : 1;
    canvas.text(shorten(c.label, c.width, s), c.x + c.width / 2, y + 4, BLACK, { scale: s, align: "center" });
  }
  return headingHeight(scale);
}

export function headingHeight(scale = 2): number {
  return FONT.lineHeight * scale + 6;
}

/** A vertical bar from `top` (t = 0) to `bottom` (t = 1) with its end labels to the right. */
export function scaleBar(
  canvas: Canvas,
  x: number,
  y: number,
  h: number,
  color: (t: number) => Rgb,
  top: string,
  bottom: string,
): void {
  for (let r = 0; r < h; r++) canvas.fillRect(x, y + r, BAR_W, 1, color(r / Math.max(1, h - 1)));
  canvas.strokeRect(x, y, BAR_W, h, BLACK);
  canvas.text(top, x + BAR_W + 2, y, BLACK);
  canvas.text(bottom, x + BAR_W + 2, y + h, BLACK, { valign: "bottom" });
}

/** Width a depth bar takes with its labels at `scale`. */
export function depthBarWidth(scale = 1): number {
  return BAR_W + 3 + textWidth("0.00 m", scale) + 2;
}

/**
 * The scale of an inverse-depth turbo colouring (`turbo((1/z − 1/far) / (1/near − 1/far))`): a vertical bar,
 * near (warm) at the top and far (cool) at the bottom, with ticks labelled in metres at round depths spread
 * evenly in inverse depth, the ends always labelled. Returns the depths ticked.
 */
export function depthBar(
  canvas: Canvas,
  x: number,
  y: number,
  h: number,
  near: number,
  far: number,
  scale = 1,
): number[] {
  const invNear = 1 / near, invFar = 1 / far, span = invNear - invFar || 1;
  for (let r = 0; r < h; r++) canvas.fillRect(x, y + r, BAR_W, 1, turbo(1 - r / Math.max(1, h - 1)));
  canvas.strokeRect(x, y, BAR_W, h, BLACK);
  const rowOf = (z: number) => y + Math.round(((invNear - 1 / z) / span) * (h - 1));
  const cap = FONT.ascent * scale;
  const labels: { z: number; row: number }[] = [];
  const room = (row: number) => labels.every((l) => Math.abs(l.row - row) >= cap + 3 * scale);
  // The ends first, then rounded depths at even steps of inverse depth wherever there is room.
  const ends = [near, far].filter((z) => Number.isFinite(z) && z > 0);
  const steps = Math.max(2, Math.min(6, Math.floor(h / (cap * 4))));
  const inner = Array.from({ length: steps - 1 }, (_, k) => round2(1 / (invNear - ((k + 1) / steps) * span)));
  for (const z of [...ends, ...inner]) {
    if (!(z > 0) || !Number.isFinite(z) || z < Math.min(near, far) || z > Math.max(near, far)) continue;
    const row = rowOf(z);
    if (!room(row)) continue;
    labels.push({ z, row });
  }
  for (const { z, row } of labels) {
    // The tick is a notch inside the bar: outside it, next to the label, it would read as a minus sign.
    canvas.fillRect(x + BAR_W - 5, row, 5, 1, BLACK);
    const top = Math.min(y + h - cap, Math.max(y, row - Math.floor(cap / 2)));
    canvas.text(`${formatMetres(z)} m`, x + BAR_W + 4, top, BLACK, { scale });
  }
  return labels.map((l) => l.z);
}

/** Two significant digits. */
function round2(z: number): number {
  return Number.isFinite(z) ? Number(z.toPrecision(2)) : z;
}

export interface Swatch {
  readonly color: Rgb;
  readonly label: string;
}

/**
 * Colour squares, each followed by its label, in one line from (x, y) (wrapping at `maxWidth`); a swatch gets a
 * grey outline so black and white ones show. Returns the height used.
 */
export function swatchLegend(
  canvas: Canvas,
  swatches: readonly Swatch[],
  x: number,
  y: number,
  maxWidth: number,
  scale = 2,
): number {
  const box = FONT.ascent * scale + 2, line = FONT.lineHeight * scale + 2;
  let cx = x, cy = y;
  for (const s of swatches) {
    const w = box + 4 * scale + textWidth(s.label, scale) + 10 * scale;
    if (cx > x && cx + w > x + maxWidth) (cx = x), (cy += line);
    canvas.fillRect(cx, cy, box, box, s.color);
    canvas.strokeRect(cx, cy, box, box, [128, 128, 128]);
    canvas.text(s.label, cx + box + 4 * scale, cy + 1, BLACK, { scale });
    cx += w;
  }
  return cy + line - y;
}
