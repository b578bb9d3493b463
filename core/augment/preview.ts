/**
 * A contact sheet for a person to check an augmented set. Column headings (RGB, depth before, depth after,
 * mask) and the mask legend on top; then one row per frame — a line naming the frame and what was pasted,
 * four tiles (RGB after; depth before and after, both coloured on the same inverse-depth scale so a pasted
 * plane that sits wrong shows as a step; the mask), and that row's depth colour bar in metres.
 */
import { turbo } from "../plot/colormap.ts";
import type { RasterU8 } from "../io/raster.ts";
import {
  type Column,
  columnHeadings,
  depthBar,
  depthBarWidth,
  headingHeight,
  shorten,
  type Swatch,
  swatchLegend,
} from "../plot/annotate.ts";
import { FONT } from "../plot/font.ts";
import { BLACK, Canvas, type Rgb } from "../plot/canvas.ts";

export interface PreviewRow {
  readonly rgb: RasterU8;
  readonly before: Float32Array;
  readonly beforeValid: Uint8Array;
  readonly after: Float32Array;
  readonly afterValid: Uint8Array;
  readonly mask: Uint8Array;
  /** One line over the row: the frame, its side of the split, what was pasted. */
  readonly label?: string;
}

/** Mask value → colour in the preview: 0 untouched black, 1 mirror blue, 2 art orange, 3 negative green. */
export const MASK_COLOURS: readonly Rgb[] = [
  [0, 0, 0],
  [60, 120, 255],
  [255, 150, 40],
  [60, 200, 90],
];
export const MASK_LEGEND: readonly Swatch[] = ["0 untouched", "1 mirror", "2 art", "3 negative"].map((
  label,
  k,
) => ({
  color: MASK_COLOURS[k],
  label,
}));
export const COLUMNS = ["RGB", "depth before", "depth after", "mask"] as const;

/** Tiles at least this wide, and tall enough to read a wide vKITTI2 frame (up to `MAX_TILE_WIDTH`). */
const MIN_TILE_WIDTH = 256, MAX_TILE_WIDTH = 420, MIN_TILE_HEIGHT = 128;
const GAP = 4, MARGIN = 6;

/** The layout of a sheet, so callers and tests know where each part is. */
export interface SheetLayout {
  readonly tileWidth: number;
  readonly tileHeight: number;
  /** Height of the headings and legend above the first row. */
  readonly top: number;
  /** y of each row's tiles. */
  readonly rowTops: readonly number[];
  /** x of each tile column and of the colour bar. */
  readonly columnX: readonly number[];
  readonly barX: number;
}

export function sheetLayout(rows: readonly PreviewRow[]): SheetLayout {
  const aspect = rows.length > 0 ? rows[0].rgb.width / rows[0].rgb.height : 4 / 3;
  const tileWidth = Math.min(MAX_TILE_WIDTH, Math.max(MIN_TILE_WIDTH, Math.round(MIN_TILE_HEIGHT * aspect)));
  const tileHeight = Math.max(1, Math.round(tileWidth / aspect));
  const columnX = COLUMNS.map((_, c) => MARGIN + c * (tileWidth + GAP));
  const barX = MARGIN + COLUMNS.length * (tileWidth + GAP) + GAP;
  const width = barX + depthBarWidth() + MARGIN;
  const legend = new Canvas(width, 200);
  const legendH = swatchLegend(legend, MASK_LEGEND, MARGIN, 0, width - 2 * MARGIN);
  const top = MARGIN + headingHeight() + legendH + GAP;
  const rowStep = FONT.lineHeight + 2 + tileHeight + 2 * GAP;
  const rowTops = rows.map((_, r) => top + r * rowStep + FONT.lineHeight + 2);
  return { tileWidth, tileHeight, top, rowTops, columnX, barX };
}

export function contactSheet(rows: readonly PreviewRow[]): RasterU8 {
  const layout = sheetLayout(rows);
  const { tileWidth: tw, tileHeight: th, columnX, barX } = layout;
  const width = barX + depthBarWidth() + MARGIN;
  const height = (rows.length ? layout.rowTops[rows.length - 1] + th + GAP : layout.top) + MARGIN;
  const canvas = new Canvas(width, height);
  const headings: Column[] = COLUMNS.map((label, c) => ({ x: columnX[c], width: tw, label }));
  headings.push({ x: barX, width: depthBarWidth(), label: "depth (m)" });
  const headH = columnHeadings(canvas, headings, MARGIN);
  swatchLegend(canvas, MASK_LEGEND, MARGIN, MARGIN + headH, width - 2 * MARGIN);

  rows.forEach((row, r) => {
    const y0 = layout.rowTops[r];
    const { width: w, height: h } = row.rgb;
    let lo = Infinity, hi = -Infinity;
    for (const [d, v] of [[row.before, row.beforeValid], [row.after, row.afterValid]] as const) {
      for (let k = 0; k < d.length; k++) {
        if (v[k] && d[k] > 0) (lo = Math.min(lo, 1 / d[k])), (hi = Math.max(hi, 1 / d[k]));
      }
    }
    const span = hi > lo ? hi - lo : 1;
    const color = (d: Float32Array, v: Uint8Array, k: number): Rgb =>
      v[k] && d[k] > 0 ? turbo((1 / d[k] - lo) / span) : BLACK;
    const tiles: ((k: number) => Rgb)[] = [
      (k) => [row.rgb.data[3 * k], row.rgb.data[3 * k + 1], row.rgb.data[3 * k + 2]],
      (k) => color(row.before, row.beforeValid, k),
      (k) => color(row.after, row.afterValid, k),
      (k) => MASK_COLOURS[row.mask[k]] ?? [255, 255, 255],
    ];
    for (let y = 0; y < th; y++) {
      const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / th));
      for (let x = 0; x < tw; x++) {
        const k = sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / tw));
        tiles.forEach((tile, t) => canvas.setPixel(columnX[t] + x, y0 + y, tile(k)));
      }
    }
    if (row.label) {
      canvas.text(shorten(row.label, width - 2 * MARGIN), MARGIN, y0 - FONT.lineHeight - 1, BLACK);
    }
    if (Number.isFinite(lo)) depthBar(canvas, barX, y0, th, 1 / hi, 1 / lo);
  });
  return canvas.toRaster();
}
