/**
 * predict's colour preview: the numbered bar in the head's own unit (metres at even inverse-depth steps, or
 * unitless disparity), the colour map asked for, and run.py's RGB | depth layout.
 */
import assert from "node:assert/strict";
import { depthPreview, previewTicks } from "../../core/plot/depth_preview.ts";
import { COLOR_MAPS } from "../../core/plot/colormap.ts";
import type { RasterU8 } from "../../core/io/raster.ts";

const W = 160, H = 90;
/** Depth rising from 1 m on the left to 10 m on the right. */
const DEPTH = Float32Array.from({ length: W * H }, (_, i) => 1 + (9 * (i % W)) / (W - 1));
const RGB: RasterU8 = {
  width: W,
  height: H,
  channels: 3,
  data: Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 37) % 251),
};

const pixel = (
  image: RasterU8,
  x: number,
  y: number,
) => [...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3)];

Deno.test("previewTicks: metres at even steps of inverse depth, ends labelled; disparity without a unit", () => {
  const metric = previewTicks({ unit: "m", near: 1, far: 10 }, 3);
  assert.deepEqual(metric.map((t) => t.label), ["1.0 m", "10 m", "2.5 m", "1.4 m"]);
  assert.deepEqual(metric.slice(0, 2).map((t) => t.t), [1, 0]);
  // 1/2.5 = 0.4 sits a third of the way from 1/10 to 1/1 (0.1 .. 1), up to the label's rounding.
  assert.ok(Math.abs(metric[2].t - 1 / 3) < 0.01, String(metric[2].t));
  const relative = previewTicks({ unit: "relative disparity", near: 8, far: 2 }, 2);
  assert.deepEqual(relative.map((t) => [t.label, t.t]), [["8", 1], ["2", 0], ["5", 0.5]]);
});

Deno.test("depthPreview: the map asked for, near at the bar's left, RGB | depth side by side", () => {
  for (const colorMap of ["turbo", "spectral", "gray"] as const) {
    const { image, range } = depthPreview(DEPTH, RGB, { head: "metric", colorMap, sideBySide: false });
    assert.equal(range.unit, "m");
    assert.ok(range.near < range.far);
    assert.equal(image.width, W);
    // The bar's first and last columns are the map's near and far ends.
    const barRow = H + 6;
    assert.deepEqual(pixel(image, 1, barRow), COLOR_MAPS[colorMap](1 - 1 / (W - 1)), colorMap);
    assert.deepEqual(pixel(image, W - 2, barRow), COLOR_MAPS[colorMap](1 / (W - 1)), colorMap);
    // Numbers under the bar: dark label pixels in the band below it.
    let ink = 0;
    for (let y = barRow + 8; y < image.height; y++) {
      for (let x = 0; x < W; x++) if (pixel(image, x, y)[0] === 0) ink++;
    }
    assert.ok(ink > 50, `${colorMap}: ${ink} label pixels`);
  }
  const side = depthPreview(DEPTH, RGB, { head: "metric", colorMap: "turbo", sideBySide: true });
  assert.ok(side.image.width > 2 * W);
  assert.deepEqual(pixel(side.image, 17, 23), pixel(RGB, 17, 23));
  assert.deepEqual(pixel(side.image, W + 2, 5), [255, 255, 255], "a white gap between the two");
});

Deno.test("depthPreview: a relative head's bar is disparity, near the larger value", () => {
  const disparity = DEPTH.map((d) => 1 / d);
  const { range } = depthPreview(disparity, RGB, { head: "relative", colorMap: "turbo", sideBySide: false });
  assert.equal(range.unit, "relative disparity");
  assert.ok(range.near > range.far, JSON.stringify(range));
});
