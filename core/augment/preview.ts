/**
 * A contact sheet for a person to check an augmented set: one row per frame, four tiles — RGB after, depth
 * before, depth after (both coloured on the same inverse-depth scale, so a pasted plane that sits wrong shows
 * as a step), and the mask (mirror blue, art orange, negative green).
 */
import { turbo } from "../io/colormap.ts";
import type { RasterU8 } from "../io/raster.ts";

export interface PreviewRow {
  readonly rgb: RasterU8;
  readonly before: Float32Array;
  readonly beforeValid: Uint8Array;
  readonly after: Float32Array;
  readonly afterValid: Uint8Array;
  readonly mask: Uint8Array;
}

const TILE_WIDTH = 256;
const MASK_COLOURS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [60, 120, 255],
  [255, 150, 40],
  [60, 200, 90],
];

export function contactSheet(rows: readonly PreviewRow[]): RasterU8 {
  const tw = TILE_WIDTH;
  const th = rows.length > 0 ? Math.max(1, Math.round((tw * rows[0].rgb.height) / rows[0].rgb.width)) : 1;
  const sheet = new Uint8Array(tw * 4 * th * rows.length * 3);
  rows.forEach((row, r) => {
    const { width: w, height: h } = row.rgb;
    const inv = (z: number) => 1 / z;
    let lo = Infinity, hi = -Infinity;
    for (const [d, v] of [[row.before, row.beforeValid], [row.after, row.afterValid]] as const) {
      for (let k = 0; k < d.length; k++) {
        if (v[k]) (lo = Math.min(lo, inv(d[k]))), (hi = Math.max(hi, inv(d[k])));
      }
    }
    const span = hi > lo ? hi - lo : 1;
    const tiles: ((k: number) => readonly [number, number, number])[] = [
      (k) => [row.rgb.data[3 * k], row.rgb.data[3 * k + 1], row.rgb.data[3 * k + 2]],
      (k) => (row.beforeValid[k] ? turbo((inv(row.before[k]) - lo) / span) : [0, 0, 0]),
      (k) => (row.afterValid[k] ? turbo((inv(row.after[k]) - lo) / span) : [0, 0, 0]),
      (k) => MASK_COLOURS[row.mask[k]] ?? [255, 255, 255],
    ];
    for (let y = 0; y < th; y++) {
      const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / th));
      for (let x = 0; x < tw; x++) {
        const k = sy * w + Math.min(w - 1, Math.floor(((x + 0.5) * w) / tw));
        tiles.forEach((tile, t) => sheet.set(tile(k), (((r * th + y) * 4 * tw) + t * tw + x) * 3));
      }
    }
  });
  return { width: tw * 4, height: Math.max(1, th * rows.length), channels: 3, data: sheet };
}
