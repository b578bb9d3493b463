import assert, { deepStrictEqual as assertEquals } from "node:assert/strict";
import { join, resolve } from "node:path";
import { BAR_W, depthBar, headingHeight } from "../../core/plot/annotate.ts";
import { DATASET_SHEET_CELL_WIDTH, datasetSheet, frameLabel } from "../../core/plot/dataset_sheet.ts";
import { Canvas } from "../../core/plot/canvas.ts";
import { listVkitti2Frames, readVkitti2Sample } from "../../core/data/vkitti2.ts";
import type { Sample } from "../../core/data/sample.ts";
import { turbo } from "../../core/plot/colormap.ts";
import type { RasterU8 } from "../../core/io/raster.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures");

const pixel = (
  img: RasterU8,
  x: number,
  y: number,
) => [...img.data.subarray(3 * (y * img.width + x), 3 * (y * img.width + x) + 3)];
const isInk = (p: number[]) => p[0] < 80 && p[1] < 80 && p[2] < 80;
function ink(img: RasterU8, x0: number, y0: number, x1: number, y1: number): number {
  let n = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (isInk(pixel(img, x, y))) n++;
  return n;
}

/** A synthetic frame: depth from `near` (left) to `far` (right), a wide one like vKITTI2's. */
function sample(id: string, width: number, height: number, near: number, far: number): Sample {
  const depth = Float32Array.from(
    { length: width * height },
    (_, k) => near + ((far - near) * (k % width)) / (width - 1),
  );
  return {
    id,
    dataset: "vkitti2",
    rgb: { width, height, channels: 3, data: new Uint8Array(width * height * 3).fill(190) },
    depth,
    valid: new Uint8Array(width * height).fill(1),
    width,
    height,
    intrinsics: { fx: 1, fy: 1, cx: 0, cy: 0 },
    rgbPath: id,
    depthPath: id,
  };
}

Deno.test("dataset sheet: frames drawn at a readable width whatever their size, each labelled, with its colour bar", () => {
  const samples = [sample("Scene01/clone/Camera_0/00000", 1242, 375, 2, 50), sample("small", 207, 63, 1, 4)];
  const sheet = datasetSheet(samples);
  const { image, rowTops, rowHeights, columnX, ranges } = sheet;
  // Two cells of the set width and a bar, not two 1242-pixel frames side by side.
  assert(image.width < 2 * DATASET_SHEET_CELL_WIDTH + 120, `${image.width} wide`);
  assertEquals(rowHeights, [
    Math.round((375 * DATASET_SHEET_CELL_WIDTH) / 1242),
    Math.round((63 * DATASET_SHEET_CELL_WIDTH) / 207),
  ]);
  // Headings over both columns; a label line over each row.
  assert(
    ink(image, columnX[0], 0, columnX[0] + DATASET_SHEET_CELL_WIDTH, headingHeight()) > 30,
    "RGB heading",
  );
  assert(
    ink(image, columnX[1], 0, columnX[1] + DATASET_SHEET_CELL_WIDTH, headingHeight()) > 30,
    "depth heading",
  );
  for (const top of rowTops) {
    assert(ink(image, 0, top - 11, DATASET_SHEET_CELL_WIDTH, top - 1) > 60, `label at ${top}`);
  }
  // The bar's range is the frame's colour range: near (2nd percentile) warm at the top, far at the bottom.
  for (const [r, top] of rowTops.entries()) {
    const h: number = rowHeights[r];
    assertEquals(pixel(image, columnX[2] + 3, top + 1), turbo(1 - 1 / (h - 1)));
    assertEquals(pixel(image, columnX[2] + 3, top + h - 2), turbo(1 / (h - 1)));
    assert(ranges[r].near > (r ? 1 : 2) && ranges[r].far < (r ? 4 : 50));
    assert(ink(image, columnX[2] + BAR_W + 2, top, image.width, top + 9) > 15, "near label");
  }
  assert(
    frameLabel(samples[1]).startsWith("small · 207×63 · 1.0–4.0 m · 0.0 % invalid"),
    frameLabel(samples[1]),
  );
});

Deno.test("depth bar: ticks at round depths, each where the colouring puts that depth", () => {
  const canvas = new Canvas(120, 220);
  const [x, y, h, near, far] = [10, 10, 200, 1.5, 40];
  const ticks = depthBar(canvas, x, y, h, near, far);
  assert(ticks.length >= 4, `${ticks}`);
  assertEquals(ticks.slice(0, 2), [near, far]);
  const img = canvas.toRaster();
  for (const z of ticks) {
    const t = (1 / z - 1 / far) / (1 / near - 1 / far);
    const row = y + Math.round((1 - t) * (h - 1));
    // A notch inside the bar at the depth's row, and the bar's colour beside it is that depth's colour.
    assertEquals(pixel(img, x + BAR_W - 3, row), [0, 0, 0], `notch for ${z} m at row ${row}`);
    // (At the ends, one row in: the bar's outline is the first and last row.)
    const inside = Math.min(y + h - 2, Math.max(y + 1, row));
    const beside = pixel(img, x + 3, inside);
    const expected = turbo(1 - (inside - y) / (h - 1));
    assert(Math.abs(inside - row) <= 1);
    assertEquals(beside, expected, `${z} m`);
  }
  // Inner ticks are round: two significant digits.
  for (const z of ticks.slice(2)) assertEquals(Number(z.toPrecision(2)), z);
});

Deno.test("dataset sheet: the vKITTI2 fixture frames, every row labelled with its frame id", async () => {
  const root = join(FIXTURES, "vkitti2");
  const { frames } = await listVkitti2Frames(root);
  const samples = await Promise.all(frames.slice(0, 3).map((f) => readVkitti2Sample(f)));
  const { image, rowTops } = datasetSheet(samples);
  assertEquals(rowTops.length, 3);
  assert(image.width <= 2 * DATASET_SHEET_CELL_WIDTH + 120);
  for (const s of samples) assert(frameLabel(s).startsWith(s.id + " · "));
});
