/**
 * A small RGB raster canvas for charts and contact sheets: filled and outlined rectangles, straight lines of
 * any thickness (optionally dashed), text in trompe's bitmap font (horizontal or rotated to read upwards),
 * and images pasted at a position and size. Everything is drawn with exact, unblended colours, so a test can
 * find a bar by its colour and measure it in pixels.
 */
import type { RasterU8 } from "../io/raster.ts";
import { FONT, glyph, textWidth } from "./font.ts";

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];
export const GREY: Rgb = [128, 128, 128];
export const LIGHT_GREY: Rgb = [225, 225, 225];

/** Series colours (Tableau 10): distinct, and distinguishable in print. */
export const PALETTE: readonly Rgb[] = [
  [78, 121, 167],
  [242, 142, 43],
  [225, 87, 89],
  [118, 183, 178],
  [89, 161, 79],
  [237, 201, 72],
  [176, 122, 161],
  [255, 157, 167],
  [156, 117, 95],
  [186, 176, 172],
];

export function seriesColor(i: number): Rgb {
  return PALETTE[i % PALETTE.length];
}

export interface TextOptions {
  /** Integer magnification of the 5×7 font (default 1). */
  scale?: number;
  /** Where x sits on the text: its left end (default), centre or right end. */
  align?: "left" | "center" | "right";
  /** Where y sits: the top of the capitals (default), the middle of them, or the baseline. */
  valign?: "top" | "middle" | "bottom";
  /** Rotated 90° anticlockwise (reads upwards); align/valign then refer to the rotated extent. */
  vertical?: boolean;
}

export class Canvas {
  readonly data: Uint8Array;

  constructor(readonly width: number, readonly height: number, background: Rgb = WHITE) {
    this.width = Math.max(1, Math.round(width));
    this.height = Math.max(1, Math.round(height));
    this.data = new Uint8Array(this.width * this.height * 3);
    this.fillRect(0, 0, this.width, this.height, background);
  }

  setPixel(x: number, y: number, c: Rgb): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const o = 3 * (y * this.width + x);
    this.data[o] = c[0];
    this.data[o + 1] = c[1];
    this.data[o + 2] = c[2];
  }

  getPixel(x: number, y: number): Rgb {
    const o = 3 * (y * this.width + x);
    return [this.data[o], this.data[o + 1], this.data[o + 2]];
  }

  /** Fills [x, x + w) × [y, y + h), rounded to whole pixels and clipped to the canvas. */
  fillRect(x: number, y: number, w: number, h: number, c: Rgb): void {
    const x0 = Math.max(0, Math.round(x)), x1 = Math.min(this.width, Math.round(x + w));
    const y0 = Math.max(0, Math.round(y)), y1 = Math.min(this.height, Math.round(y + h));
    for (let yy = y0; yy < y1; yy++) {
      for (let xx = x0; xx < x1; xx++) {
        const o = 3 * (yy * this.width + xx);
        this.data[o] = c[0];
        this.data[o + 1] = c[1];
        this.data[o + 2] = c[2];
      }
    }
  }

  /** A one-pixel (or `t`-pixel) outline just inside [x, x + w) × [y, y + h). */
  strokeRect(x: number, y: number, w: number, h: number, c: Rgb, t = 1): void {
    this.fillRect(x, y, w, t, c);
    this.fillRect(x, y + h - t, w, t, c);
    this.fillRect(x, y, t, h, c);
    this.fillRect(x + w - t, y, t, h, c);
  }

  /** A line from (x0, y0) to (x1, y1) with a square pen of `thickness` pixels; `dash` = [on, off] pixels. */
  line(x0: number, y0: number, x1: number, y1: number, c: Rgb, thickness = 1, dash?: [number, number]): void {
    const steps = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    const half = Math.floor((thickness - 1) / 2);
    for (let s = 0; s <= steps; s++) {
      if (dash && s % (dash[0] + dash[1]) >= dash[0]) continue;
      const x = Math.round(x0 + ((x1 - x0) * s) / steps) - half;
      const y = Math.round(y0 + ((y1 - y0) * s) / steps) - half;
      this.fillRect(x, y, thickness, thickness, c);
    }
  }

  /** Straight segments through the points (a polyline). */
  polyline(points: readonly (readonly [number, number])[], c: Rgb, thickness = 1): void {
    for (let i = 1; i < points.length; i++) {
      this.line(points[i - 1][0], points[i - 1][1], points[i][0], points[i][1], c, thickness);
    }
  }

  text(text: string, x: number, y: number, c: Rgb, options: TextOptions = {}): void {
    const { scale = 1, align = "left", valign = "top", vertical = false } = options;
    const length = textWidth(text, scale);
    const cap = FONT.ascent * scale;
    // Offsets along the reading direction (u) and across it, downwards from the cap line (v).
    const u0 = align === "left" ? 0 : align === "center" ? -Math.floor(length / 2) : -length;
    const v0 = valign === "top" ? 0 : valign === "middle" ? -Math.floor(cap / 2) : -cap;
    let pen = 0;
    for (const ch of text) {
      const rows = glyph(ch);
      for (let r = 0; r < rows.length; r++) {
        for (let col = 0; col < FONT.width; col++) {
          if (!rows[r][col]) continue;
          const u = u0 + pen + col * scale, v = v0 + r * scale;
          if (vertical) this.fillRect(x + v, y - u - scale, scale, scale, c);
          else this.fillRect(x + u, y + v, scale, scale, c);
        }
      }
      pen += FONT.advance * scale;
    }
  }

  /** Pastes `image` (gray, RGB or RGBA with alpha ignored) scaled to w × h by nearest neighbour at (x, y). */
  drawImage(image: RasterU8, x: number, y: number, w = image.width, h = image.height): void {
    const ch = image.channels;
    for (let yy = 0; yy < h; yy++) {
      const sy = Math.min(image.height - 1, Math.floor(((yy + 0.5) * image.height) / h));
      for (let xx = 0; xx < w; xx++) {
        const sx = Math.min(image.width - 1, Math.floor(((xx + 0.5) * image.width) / w));
        const o = (sy * image.width + sx) * ch;
        const rgb: Rgb = ch === 1
          ? [image.data[o], image.data[o], image.data[o]]
          : [image.data[o], image.data[o + 1], image.data[o + 2]];
        this.setPixel(x + xx, y + yy, rgb);
      }
    }
  }

  toRaster(): RasterU8 {
    return { width: this.width, height: this.height, channels: 3, data: this.data };
  }
}

/** Stacks images into a grid (row-major, `columns` wide) on a white background with `gap` pixels between. */
export function grid(images: readonly RasterU8[], columns: number, gap = 0): RasterU8 {
  const rows = Math.ceil(images.length / columns);
  const cellW = Math.max(...images.map((i) => i.width));
  const cellH = Math.max(...images.map((i) => i.height));
  const canvas = new Canvas(columns * cellW + (columns - 1) * gap, rows * cellH + (rows - 1) * gap);
  images.forEach((image, k) => {
    canvas.drawImage(image, (k % columns) * (cellW + gap), Math.floor(k / columns) * (cellH + gap));
  });
  return canvas.toRaster();
}
