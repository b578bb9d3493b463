import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  COLUMNS,
  contactSheet,
  MASK_COLOURS,
  type PreviewRow,
  sheetLayout,
} from "../../core/augment/preview.ts";
import { BAR_W, headingHeight } from "../../core/plot/annotate.ts";
import { turbo } from "../../core/plot/colormap.ts";
import type { RasterU8 } from "../../core/io/raster.ts";

const W = 64, H = 48;

/** Depth from 1 m (left) to 9 m (right); mask: a band of each label across the middle. */
function row(label: string): PreviewRow {
  const before = Float32Array.from({ length: W * H }, (_, k) => 1 + (8 * (k % W)) / (W - 1));
  const after = before.slice();
  const mask = new Uint8Array(W * H);
  for (let k = 0; k < W * H; k++) {
    const x = k % W;
    mask[k] = x < 16 ? 0 : x < 32 ? 1 : x < 48 ? 2 : 3;
    if (mask[k] === 1 || mask[k] === 2) after[k] = 4; // a flat paste
  }
  const rgb = { width: W, height: H, channels: 3 as const, data: new Uint8Array(W * H * 3).fill(200) };
  const valid = new Uint8Array(W * H).fill(1);
  return { rgb, before, beforeValid: valid, after, afterValid: valid, mask, label };
}

const pixel = (
  img: RasterU8,
  x: number,
  y: number,
) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];
const isInk = (p: number[]) => p[0] < 80 && p[1] < 80 && p[2] < 80;

function count(
  img: RasterU8,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  test: (p: number[]) => boolean,
) {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (test(pixel(img, x, y))) n++;
  return n;
}

/** Whether a size × size block of exactly `colour` lies between rows y0 and y1. */
function hasBlock(img: RasterU8, colour: readonly number[], size: number, y0: number, y1: number): boolean {
  for (let y = y0; y + size <= y1; y++) {
    for (let x = 0; x + size <= img.width; x++) {
      if (count(img, x, y, x + size, y + size, (p) => p.every((c, i) => c === colour[i])) === size * size) {
        return true;
      }
    }
  }
  return false;
}

Deno.test("augment preview: column headings, a mask legend in the mask colours, and a line over each row", () => {
  const rows = [row("frame-a · train · mirror 25.0 %"), row("frame-b · val · clean")];
  const sheet = contactSheet(rows);
  const layout = sheetLayout(rows);
  const { tileWidth: tw, tileHeight: th } = layout;
  // Taller than the bare tiles by the headings and legend band, and a line per row.
  assert(layout.top >= headingHeight() + 20, `top band ${layout.top}`);
  assert(sheet.height >= layout.top + rows.length * (th + 11), `${sheet.height}`);
  assert(sheet.width >= COLUMNS.length * tw + BAR_W, `${sheet.width}`);
  // Each heading has ink over its own column, in the band above the legend.
  for (const x of layout.columnX) {
    const ink = count(sheet, x, 0, x + tw, headingHeight(), isInk);
    assert(ink > 30, `heading over column at x=${x}: ${ink} ink pixels`);
  }
  // The legend band holds a swatch of each mask colour: a solid block (black text alone has none).
  const band = [headingHeight(), layout.top] as const;
  for (const [value, colour] of MASK_COLOURS.entries()) {
    assert(hasBlock(sheet, colour, 10, band[0], band[1]), `legend swatch for mask ${value} ${colour}`);
  }
  // Above each row's tiles, its label's ink; none over the tiles' left margin below.
  for (const top of layout.rowTops) assert(count(sheet, 0, top - 11, 200, top - 1, isInk) > 40);
  // The mask tile shows the mask colours where the mask has them.
  const maskX = layout.columnX[3];
  for (const [value, colour] of MASK_COLOURS.entries()) {
    const x = maskX + Math.floor(((value * 16 + 8) * tw) / W);
    assertEquals(pixel(sheet, x, layout.rowTops[0] + 5), [...colour]);
  }
});

Deno.test("augment preview: each row's colour bar spans its depths in metres, near warm at the top", () => {
  const rows = [row("a")];
  const sheet = contactSheet(rows);
  const { barX, rowTops, tileHeight: th, columnX, tileWidth: tw } = sheetLayout(rows);
  const y0 = rowTops[0];
  // The inverse-depth scale of the tiles (1 m … 9 m): the bar's top is the near end, its bottom the far end.
  assertEquals(pixel(sheet, barX + 3, y0 + 1), turbo(1 - 1 / (th - 1)));
  assertEquals(pixel(sheet, barX + 3, y0 + th - 2), turbo(1 / (th - 1)));
  // The depth-before tile's leftmost column (1 m) is the bar's top colour, its rightmost (9 m) the bottom's.
  assertEquals(pixel(sheet, columnX[1], y0 + 3), turbo(1));
  assertEquals(pixel(sheet, columnX[1] + tw - 1, y0 + 3), turbo(0));
  // Labels in metres beside the bar: ink right of it at its top and its bottom.
  assert(count(sheet, barX + BAR_W + 2, y0, sheet.width, y0 + 9, isInk) > 15, "near label");
  assert(count(sheet, barX + BAR_W + 2, y0 + th - 9, sheet.width, y0 + th, isInk) > 15, "far label");
});
