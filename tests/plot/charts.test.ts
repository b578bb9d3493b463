import assert from "node:assert/strict";
import { barChart, binCounts, histogram, lineChart, niceTicks } from "../../core/plot/charts.ts";
import { FONT, glyph, hasGlyph, textWidth } from "../../core/plot/font.ts";
import { Canvas, grid, type Rgb, seriesColor } from "../../core/plot/canvas.ts";
import { decodePng, encodePng } from "../../core/io/png.ts";
import type { RasterU8 } from "../../core/io/raster.ts";

function same(image: RasterU8, x: number, y: number, c: Rgb): boolean {
  const o = 3 * (y * image.width + x);
  return image.data[o] === c[0] && image.data[o + 1] === c[1] && image.data[o + 2] === c[2];
}

/** Columns holding colour c, and for each the number of pixels of that colour in it. */
function columnsOf(image: RasterU8, c: Rgb): Map<number, number> {
  const cols = new Map<number, number>();
  for (let x = 0; x < image.width; x++) {
    let n = 0;
    for (let y = 0; y < image.height; y++) if (same(image, x, y, c)) n++;
    if (n > 0) cols.set(x, n);
  }
  return cols;
}

Deno.test("font: every glyph is 5 wide and at most 9 rows; printable ASCII is covered", () => {
  for (let code = 32; code < 127; code++) {
    const ch = String.fromCharCode(code);
    assert(hasGlyph(ch), `no glyph for ${JSON.stringify(ch)}`);
    const rows = glyph(ch);
    assert.equal(rows.length, FONT.height, ch);
    for (const row of rows) assert.equal(row.length, FONT.width, ch);
  }
  assert.equal(textWidth("ab", 2), (2 * FONT.advance - 1) * 2);
  assert(!hasGlyph("☃") && glyph("☃").flat().some((b) => b === 1), "a missing glyph draws as a box");
});

Deno.test("canvas: text is drawn where asked, horizontally and upwards", () => {
  const c = new Canvas(40, 40);
  c.text("I", 10, 5, [0, 0, 0], { scale: 2 });
  // "I" = .###. / ..#.. : its top bar spans columns 1–3 of the glyph, doubled.
  const image = c.toRaster();
  assert(same(image, 10 + 2, 5, [0, 0, 0]) && same(image, 10 + 7, 6, [0, 0, 0]));
  assert(same(image, 10, 5, [255, 255, 255]) && same(image, 10 + 8, 5, [255, 255, 255]));
  const v = new Canvas(20, 20);
  v.text("-", 5, 15, [0, 0, 0], { vertical: true });
  // "-" is row 3, columns 1–3: upwards it becomes column 5 + 3, rows 15 − 2 … 15 − 4.
  const vi = v.toRaster();
  for (const y of [11, 12, 13]) assert(same(vi, 8, y, [0, 0, 0]), `row ${y}`);
  assert(same(vi, 8, 14, [255, 255, 255]) && same(vi, 8, 10, [255, 255, 255]));
});

Deno.test("bar chart: bar heights are proportional to the values, from the zero line", () => {
  const values = [1, 2, 4, 0.5];
  const chart = barChart({ title: "t", categories: ["a", "b", "c", "d"], series: [{ name: "s", values }] });
  const png = decodePng(encodePng(chart.image), "chart") as RasterU8;
  assert.equal(png.width, chart.image.width);
  const cols = columnsOf(png, seriesColor(0));
  // Group adjacent columns into bars and take each bar's height.
  const bars: number[] = [];
  let last = -2;
  for (const [x, n] of [...cols].sort((a, b) => a[0] - b[0])) {
    if (x !== last + 1) bars.push(n);
    last = x;
  }
  assert.equal(bars.length, 4);
  const { y } = chart.panels[0];
  for (let i = 0; i < 4; i++) {
    assert(Math.abs(bars[i] - (y(0) - y(values[i]))) <= 1, `bar ${i}: ${bars[i]} px`);
    assert(Math.abs(bars[i] / bars[2] - values[i] / 4) < 0.02, `bar ${i} ratio`);
  }
});

Deno.test("bar chart: grouped series keep their colours and skip missing values", () => {
  const chart = barChart({
    categories: ["x", "y"],
    series: [{ name: "A", values: [3, null] }, { name: "B", values: [1, 2] }],
    valueLabels: true,
  });
  const a = columnsOf(chart.image, seriesColor(0)), b = columnsOf(chart.image, seriesColor(1));
  // Legend squares are the same size for both series; bars differ: A has one bar 3× B's first.
  const tallest = (m: Map<number, number>) => Math.max(...m.values());
  const { y } = chart.panels[0];
  assert(Math.abs(tallest(a) - (y(0) - y(3))) <= 1);
  assert(Math.abs(tallest(b) - (y(0) - y(2))) <= 1);
});

Deno.test("histogram: bin counts and bar heights", () => {
  const edges = [0, 0.1, 0.2, 0.3];
  assert.deepEqual(binCounts([0, 0.05, 0.1, 0.25, 0.3, 9, -1, NaN], edges), [3, 1, 3]);
  const chart = histogram({
    series: [{ name: "m", values: [0.01, 0.02, 0.03, 0.15] }, { name: "n", values: [0.25] }],
    edges,
  });
  assert.equal(chart.panels.length, 2);
  const p = chart.panels[0];
  const col = Math.round(p.x(0.05));
  let n = 0;
  for (let row = 0; row < chart.image.height; row++) if (same(chart.image, col, row, seriesColor(0))) n++;
  assert(Math.abs(n - (p.y(0) - p.y(3))) <= 1, `first bin ${n} px`);
});

Deno.test("line chart: markers sit at their data positions", () => {
  const chart = lineChart({ series: [{ name: "a", points: [[0.1, 0.2], [0.5, 0.9]] }], yMin: 0, yMax: 1 });
  const p = chart.panels[0];
  for (const [x, y] of [[0.1, 0.2], [0.5, 0.9]]) {
    assert(same(chart.image, Math.round(p.x(x)), Math.round(p.y(y)), seriesColor(0)), `${x},${y}`);
  }
});

Deno.test("niceTicks: round steps covering the range", () => {
  const unit = niceTicks(0, 1, 5).ticks;
  assert.equal(unit.length, 6);
  unit.forEach((t, i) => assert(Math.abs(t - i * 0.2) < 1e-12));
  const { ticks, step } = niceTicks(0.013, 0.087, 4);
  assert(ticks[0] <= 0.013 && ticks[ticks.length - 1] >= 0.087 && step === 0.02);
  assert(niceTicks(5, 5).ticks.length >= 2);
});

Deno.test("grid: images laid out row-major", () => {
  const red = new Canvas(4, 3, [255, 0, 0]).toRaster(), blue = new Canvas(4, 3, [0, 0, 255]).toRaster();
  const g = grid([red, blue, blue], 2, 1);
  assert.equal(g.width, 9);
  assert.equal(g.height, 7);
  assert(same(g, 0, 0, [255, 0, 0]) && same(g, 5, 0, [0, 0, 255]) && same(g, 0, 4, [0, 0, 255]));
  assert(same(g, 5, 4, [255, 255, 255]));
});
