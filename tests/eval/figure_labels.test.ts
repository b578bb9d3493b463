/**
 * Figures that label themselves: whole counts on a histogram's axis and round bins, lines that coincide
 * still seen, epoch marks, a log axis that keeps small bars visible, and the loss curve's validation panel.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { barChart, lineChart, niceTicks, roundEdges } from "../../core/plot/charts.ts";
import { flatnessEdges } from "../../core/eval/figures.ts";
import { GREY, type Rgb, seriesColor } from "../../core/plot/canvas.ts";
import { readPng } from "../../core/io/png.ts";
import type { RasterU8 } from "../../core/io/raster.ts";
import { writeLossCurve } from "../../core/train/train_log.ts";

const count = (image: RasterU8, c: Rgb) => {
  let n = 0;
  for (let i = 0; i < image.data.length; i += 3) {
    if (image.data[i] === c[0] && image.data[i + 1] === c[1] && image.data[i + 2] === c[2]) n++;
  }
  return n;
};

Deno.test("niceTicks integer: counts step by whole numbers, never 0.5", () => {
  assert.deepEqual(niceTicks(0, 3, 8, true).ticks, [0, 1, 2, 3]);
  assert.ok(niceTicks(0, 40, 8, true).ticks.every(Number.isInteger));
  assert.ok(niceTicks(0, 3, 8).ticks.some((t) => !Number.isInteger(t)), "the real axis may halve");
});

Deno.test("flatness bins: round edges, the last one round (no '≥ 0.479')", () => {
  assert.deepEqual(roundEdges(0.5, 24).slice(0, 3), [0, 0.025, 0.05]);
  const edges = flatnessEdges([0.01, 0.3, 0.45], 0.02);
  assert.equal(edges[edges.length - 1], 0.5);
  for (const e of edges) assert.equal(Number(e.toFixed(3)), e);
});

Deno.test("lineChart dodge: two series at the same values both stay visible", () => {
  const points = [[0.1, 1], [0.2, 1], [0.3, 1]] as const;
  const series = [{ name: "a", points }, { name: "b", points }];
  const plain = lineChart({ series, yMin: 0, yMax: 1, legend: false }).image;
  const dodged = lineChart({ series, yMin: 0, yMax: 1, legend: false, dodge: true }).image;
  assert.ok(count(plain, seriesColor(0)) < 40, "without dodging the second hides the first");
  assert.ok(count(dodged, seriesColor(0)) > 100, `${count(dodged, seriesColor(0))}`);
  assert.ok(count(dodged, seriesColor(1)) > 100);
});

Deno.test("lineChart xMarks: a dashed grey line at each mark", () => {
  const series = [{ name: "loss", points: [[0, 1], [10, 0.5]] as const }];
  const without = lineChart({ series, legend: false }).image;
  const marked = lineChart({ series, legend: false, xMarks: [{ value: 5, label: "epoch 1" }] }).image;
  assert.ok(count(marked, GREY) > count(without, GREY) + 50);
});

Deno.test("barChart log: a change 1000× smaller still has a visible bar", () => {
  const options = { categories: ["blocks.0", "head"], series: [{ name: "s", values: [1e-4, 1e-1] }] };
  const linear = barChart(options).image;
  const log = barChart({ ...options, yScale: "log" }).image;
  const bars = (image: RasterU8) => count(image, seriesColor(0));
  // On the linear axis the small bar is about a pixel high; on the log one it is a good part of the big one.
  const big = bars(barChart({ ...options, series: [{ name: "s", values: [null, 1e-1] }] }).image);
  assert.ok(bars(linear) - big < 0.01 * big, `${bars(linear)} vs ${big}`);
  const bigLog = bars(
    barChart({ ...options, yScale: "log", series: [{ name: "s", values: [null, 1e-1] }] }).image,
  );
  assert.ok(bars(log) - bigLog > 0.3 * bigLog, `${bars(log)} vs ${bigLog}`);
});

Deno.test("loss curve: a validation panel under the loss when validations exist", async () => {
  const dir = await Deno.makeTempDir();
  const steps = Array.from({ length: 8 }, (_, step) => ({
    step,
    epoch: Math.floor(step / 4),
    loss: 1 / (step + 1),
    lr: 1e-4,
    ms: 10,
    peakBytes: 0,
    pixels: 100,
  }));
  const metrics = { abs_rel: 0.3 } as never;
  const vals = [4, 8].map((step) => ({ step, epoch: step / 4, images: 2, failed: 0, metrics, best: false }));
  await writeLossCurve(join(dir, "alone.png"), steps, [], 4);
  await writeLossCurve(join(dir, "both.png"), steps, vals, 4);
  const alone = await readPng(join(dir, "alone.png"));
  const both = await readPng(join(dir, "both.png"));
  assert.ok(both.height > 1.8 * alone.height, `${both.height} vs ${alone.height}`);
  await Deno.remove(dir, { recursive: true });
});
