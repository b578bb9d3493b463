/**
 * The contact sheet of `deno task data --preview N`: column headings, then per frame a line naming it (id,
 * size, depth range, invalid share) over its RGB and its depth — inverse depth through turbo between the
 * frame's 2nd and 98th percentiles — with that range's colour bar in metres. Frames are drawn `cellWidth`
 * wide whatever their resolution (a 1024- or 1242-pixel frame would make a sheet too wide to read).
 */
import type { Sample } from "../data/sample.ts";
import { colorizeDepth, inverseDepthRange } from "./colormap.ts";
import type { RasterU8 } from "../io/raster.ts";
import { columnHeadings, depthBar, depthBarWidth, formatMetres, shorten } from "./annotate.ts";
import { FONT } from "./font.ts";
import { BLACK, Canvas } from "./canvas.ts";

export const DATASET_SHEET_CELL_WIDTH = 384;
const GAP = 4, MARGIN = 6;

export interface DatasetSheet {
  readonly image: RasterU8;
  /** y of each row's images, their height, and x of the RGB, depth and colour-bar columns. */
  readonly rowTops: readonly number[];
  readonly rowHeights: readonly number[];
  readonly columnX: readonly [number, number, number];
  /** Each row's colour range in metres. */
  readonly ranges: readonly { near: number; far: number }[];
}

/** One line about a frame: "ai_001_001/cam_00/0000 · 1024×768 · 2.9–13 m · 3.1 % invalid". */
export function frameLabel(s: Sample): string {
  let lo = Infinity, hi = -Infinity, valid = 0;
  for (let k = 0; k < s.depth.length; k++) {
    if (!s.valid[k]) continue;
    valid++;
    if (s.depth[k] < lo) lo = s.depth[k];
    if (s.depth[k] > hi) hi = s.depth[k];
  }
  const range = valid ? `${formatMetres(lo)}–${formatMetres(hi)} m` : "no valid depth";
  const invalid = (100 * (1 - valid / Math.max(1, s.depth.length))).toFixed(1);
  return `${s.id} · ${s.width}×${s.height} · ${range} · ${invalid} % invalid`;
}

export function datasetSheet(samples: readonly Sample[], cellWidth = DATASET_SHEET_CELL_WIDTH): DatasetSheet {
  const cw = Math.max(64, Math.round(cellWidth));
  const columnX: [number, number, number] = [MARGIN, MARGIN + cw + GAP, MARGIN + 2 * (cw + GAP) + GAP];
  const width = columnX[2] + depthBarWidth() + MARGIN;
  const rowHeights = samples.map((s) => Math.max(1, Math.round((s.height * cw) / s.width)));
  const probe = new Canvas(1, 1);
  const top = MARGIN + columnHeadings(probe, [], 0);
  const rowTops: number[] = [];
  let y = top;
  for (const h of rowHeights) {
    rowTops.push(y + FONT.lineHeight + 2);
    y += FONT.lineHeight + 2 + h + 2 * GAP;
  }
  const canvas = new Canvas(width, y + MARGIN);
  columnHeadings(canvas, [
    { x: columnX[0], width: cw, label: "RGB" },
    { x: columnX[1], width: cw, label: "depth (inverse, turbo)" },
    { x: columnX[2], width: depthBarWidth(), label: "depth (m)" },
  ], MARGIN);
  const ranges = samples.map((s, r) => {
    const range = inverseDepthRange(s.depth, s.valid);
    const depth = colorizeDepth(s.depth, s.valid, s.width, s.height, range);
    canvas.text(shorten(frameLabel(s), width - 2 * MARGIN), MARGIN, rowTops[r] - FONT.lineHeight - 1, BLACK);
    canvas.drawImage(s.rgb, columnX[0], rowTops[r], cw, rowHeights[r]);
    canvas.drawImage(depth, columnX[1], rowTops[r], cw, rowHeights[r]);
    if (Number.isFinite(range.near)) {
      depthBar(canvas, columnX[2], rowTops[r], rowHeights[r], range.near, range.far);
    }
    return range;
  });
  return { image: canvas.toRaster(), rowTops, rowHeights, columnX, ranges };
}
