/**
 * The charts trompe's reports use, drawn on the raster canvas: grouped bars (metrics per model, fooled rate by
 * region size, parameter change by block), histograms as small multiples (flatness error per model), and line
 * charts (fooled rate against pasted area). Each returns the image and the plot area with its value→pixel maps,
 * so tests can check that what is drawn is what was asked for.
 */
import type { RasterU8 } from "../io/raster.ts";
import { FONT, textWidth } from "./font.ts";
import { BLACK, Canvas, GREY, LIGHT_GREY, type Rgb, seriesColor, WHITE } from "./canvas.ts";

export interface Rect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface ChartImage {
  readonly image: RasterU8;
  /** The data area of each panel (one for bar and line charts). */
  readonly panels: readonly Panel[];
}

export interface Panel {
  readonly rect: Rect;
  /** Data value → pixel row (bars start at y(0) or at the axis minimum). */
  readonly y: (value: number) => number;
  /** Data value → pixel column (numeric x axes); for categories, the centre of category i. */
  readonly x: (value: number) => number;
}

interface Frame {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  width?: number;
  height?: number;
  /** Integer text magnification (default 2). */
  textScale?: number;
  /** Draw the series legend (default: when there are two series or more). */
  legend?: boolean;
}

/** Colour squares and names in rows centred across the canvas from `top`; returns the y below them. */
function drawLegend(canvas: Canvas, names: readonly string[], top: number, s: number): number {
  const line = FONT.lineHeight * s;
  const box = FONT.ascent * s;
  const widths = names.map((name) => box + 4 * s + textWidth(name, s) + 6 * s);
  const rows: number[][] = [[]];
  let used = 0;
  widths.forEach((w, i) => {
    if (used + w > canvas.width - 8 && rows[rows.length - 1].length > 0) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1].push(i);
    used += w;
  });
  rows.forEach((row, r) => {
    let x = Math.max(4, Math.round((canvas.width - row.reduce((a, i) => a + widths[i], 0)) / 2));
    for (const i of row) {
      canvas.fillRect(x, top + r * line, box, box, seriesColor(i));
      canvas.text(names[i], x + box + 3 * s, top + r * line, BLACK, { scale: s });
      x += widths[i];
    }
  });
  return top + rows.length * line;
}

/** A strip holding only the legend, to head a grid of panels drawn without their own. */
export function legendStrip(names: readonly string[], width: number, textScale = 2): RasterU8 {
  const probe = new Canvas(width, 1000);
  const bottom = drawLegend(probe, names, 4, textScale);
  const canvas = new Canvas(width, bottom + 4);
  drawLegend(canvas, names, 4, textScale);
  return canvas.toRaster();
}

/** Round numbers spanning [lo, hi], about `target` of them: steps of 1, 2, 2.5 or 5 × 10^k. */
export function niceTicks(
  lo: number,
  hi: number,
  target = 5,
  integer = false,
): { ticks: number[]; step: number } {
  if (!(hi > lo)) {
    if (lo === 0) return niceTicks(0, 1, target, integer);
    const pad = Math.abs(lo) * 0.1;
    return niceTicks(lo - pad, hi + pad, target, integer);
  }
  const raw = (hi - lo) / target;
  // Counts take whole steps: no 0.5 of a frame, no 2.5.
  const power = integer ? Math.max(1, 10 ** Math.floor(Math.log10(raw))) : 10 ** Math.floor(Math.log10(raw));
  const multiples = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
  const step = multiples.map((m) => m * power).find((s) => s >= raw) ?? power;
  const first = Math.floor(lo / step + 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= hi + step * (1 - 1e-9); v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  while (ticks.length > 1 && ticks[ticks.length - 2] >= hi - step * 1e-9) ticks.pop();
  return { ticks, step };
}

/** A tick label with as many decimals as the step needs. */
export function formatTick(value: number, step: number): string {
  if (value === 0) return "0";
  const magnitude = Math.max(Math.abs(value), step);
  if (magnitude >= 1e6 || step < 1e-4) return value.toExponential(1);
  const decimals = Math.max(0, Math.ceil(-Math.log10(step) - 1e-9) + (String(step).includes("25") ? 1 : 0));
  return value.toFixed(Math.min(decimals, 6));
}

/** A compact value label: 3 significant digits, exponent beyond. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value === 0) return "0";
  const a = Math.abs(value);
  if (a >= 1e5 || a < 1e-3) return value.toExponential(2);
  return Number(value.toPrecision(3)).toString();
}

interface Layout {
  canvas: Canvas;
  s: number;
  /** The region left for panels, below the title and legend, above the x label. */
  body: Rect;
}

/** Title, legend row and x/y axis labels around a body area. */
function frame(f: Frame, legend: readonly string[], defaults: [number, number]): Layout {
  const s = f.textScale ?? 2;
  // Never narrower than the title.
  const width = Math.max(f.width ?? defaults[0], f.title ? textWidth(f.title, s) + 16 * s : 0);
  const canvas = new Canvas(width, f.height ?? defaults[1]);
  const line = FONT.lineHeight * s;
  let top = Math.round(line * 0.6);
  if (f.title) {
    canvas.text(f.title, canvas.width / 2, top, BLACK, { scale: s, align: "center" });
    top += line + Math.round(line * 0.3);
  }
  if (legend.length > 1 && f.legend !== false) {
    top = drawLegend(canvas, legend, top, s) + Math.round(line * 0.3);
  }
  let bottom = canvas.height - Math.round(line * 0.4);
  if (f.xLabel) {
    canvas.text(f.xLabel, canvas.width / 2, bottom, BLACK, { scale: s, align: "center", valign: "bottom" });
    bottom -= line;
  }
  let left = 4;
  if (f.yLabel) {
    canvas.text(f.yLabel, left, (top + bottom) / 2, BLACK, { scale: s, vertical: true, align: "center" });
    left += line;
  }
  return { canvas, s, body: { x0: left, y0: top, x1: canvas.width - 14 * s, y1: bottom } };
}

/** Y axis with grid lines and tick labels in `area`; returns the data rectangle and the value→row map. */
function yAxis(
  layout: Layout,
  area: Rect,
  lo: number,
  hi: number,
  xTickSpace: number,
  title?: string,
  headroom = 0,
  integer = false,
  label: (tick: number, step: number) => string = formatTick,
): { rect: Rect; y: (v: number) => number; ticks: number[] } {
  const { canvas, s } = layout;
  const target = Math.max(4, Math.round((area.y1 - area.y0) / (40 * s)));
  const { ticks, step } = niceTicks(lo, hi, target, integer);
  const labels = ticks.map((t) => label(t, step));
  const gutter = Math.max(...labels.map((l) => textWidth(l, s))) + 5 * s;
  const titleH = title ? FONT.lineHeight * s : 0;
  const rect = {
    x0: area.x0 + gutter,
    y0: area.y0 + titleH + FONT.ascent * s + headroom,
    x1: area.x1,
    y1: area.y1 - xTickSpace,
  };
  const min = ticks[0], max = ticks[ticks.length - 1];
  const y = (v: number) => rect.y1 - ((v - min) / (max - min)) * (rect.y1 - rect.y0);
  if (title) canvas.text(title, (rect.x0 + rect.x1) / 2, area.y0, BLACK, { scale: s, align: "center" });
  ticks.forEach((t, i) => {
    const row = Math.round(y(t));
    canvas.line(rect.x0, row, rect.x1 - 1, row, t === 0 && min < 0 ? GREY : LIGHT_GREY);
    canvas.line(rect.x0 - 3 * s, row, rect.x0 - 1, row, BLACK);
    canvas.text(labels[i], rect.x0 - 5 * s, row, BLACK, { scale: s, align: "right", valign: "middle" });
  });
  canvas.line(rect.x0 - 1, rect.y0, rect.x0 - 1, rect.y1, BLACK);
  canvas.line(rect.x0 - 1, rect.y1, rect.x1 - 1, rect.y1, BLACK);
  return { rect, y, ticks };
}

/** A dashed horizontal line across the plot with its label on a white patch at the right end. */
function referenceLine(
  canvas: Canvas,
  s: number,
  rect: Rect,
  y: (v: number) => number,
  reference: { value: number; label: string },
): void {
  const row = Math.round(y(reference.value));
  canvas.line(rect.x0, row, rect.x1 - 1, row, BLACK, 1, [6, 4]);
  const w = textWidth(reference.label, s);
  canvas.fillRect(
    rect.x1 - w - 4 * s,
    row - FONT.ascent * s - 3 * s,
    w + 3 * s,
    FONT.ascent * s + 2 * s,
    WHITE,
  );
  canvas.text(reference.label, rect.x1 - 2 * s, row - 2 * s, BLACK, {
    scale: s,
    align: "right",
    valign: "bottom",
  });
}

export interface BarSeries {
  readonly name: string;
  /** One value per category; null draws nothing (not measured). */
  readonly values: readonly (number | null)[];
}

export interface BarChartOptions extends Frame {
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
  /** Write each bar's value above (or below, for negatives) it. */
  readonly valueLabels?: boolean;
  /** A dashed horizontal reference line (e.g. a threshold). */
  readonly reference?: { readonly value: number; readonly label: string };
  /** Axis range; by default it spans 0 and every value. */
  readonly yMin?: number;
  readonly yMax?: number;
  /**
   * "log": bars on a log10 axis from the decade below the smallest positive value (values ≤ 0 are not drawn),
   * so changes that differ by orders of magnitude all show.
   */
  readonly yScale?: "linear" | "log";
}

/** Grouped bars: one group per category, one bar per series, from 0 (or the axis minimum) to the value. */
export function barChart(options: BarChartOptions): ChartImage {
  const { categories, series } = options;
  // Wide enough by default for every category's label side by side at the text scale: running labels upwards
  // would take the plot's height.
  const labelSlot = Math.max(0, ...categories.map((c) => textWidth(c, options.textScale ?? 2))) + 24;
  const layout = frame(options, series.map((s) => s.name), [
    Math.max(640, 120 + categories.length * Math.max(series.length * 28, labelSlot)),
    480,
  ]);
  const { canvas, s, body } = layout;
  const log = options.yScale === "log";
  // On a log axis every value is drawn as its exponent; labels and value labels show the value itself.
  const toAxis = (v: number | null) =>
    v === null || !isFinite(v) ? null : log ? (v > 0 ? Math.log10(v) : null) : v;
  const values = series.flatMap((se) => se.values.filter((v): v is number => v !== null && isFinite(v)));
  const axisValues = values.map(toAxis).filter((v): v is number => v !== null);
  if (options.reference && toAxis(options.reference.value) !== null) {
    axisValues.push(toAxis(options.reference.value)!);
  }
  const smallest = axisValues.length ? Math.min(...axisValues) : 0;
  const lo = log ? Math.floor(smallest) : options.yMin ?? Math.min(0, ...axisValues);
  const hi = log ? Math.ceil(Math.max(...axisValues, lo + 1)) : options.yMax ?? Math.max(0, ...axisValues);
  // Category labels: at the text scale when they fit side by side, else smaller, else running upwards.
  const slotGuess = (body.x1 - body.x0 - 40 * s) / Math.max(1, categories.length) - 4 * s;
  const widest = Math.max(...categories.map((c) => textWidth(c, 1)));
  const catScale = widest * s <= slotGuess ? s : widest <= slotGuess ? 1 : s;
  const vertical = widest * catScale > slotGuess;
  const tickSpace = vertical ? widest * s + 6 * s : FONT.lineHeight * catScale + 4 * s;
  const axis = yAxis(
    layout,
    body,
    lo,
    hi,
    tickSpace,
    undefined,
    options.valueLabels ? FONT.lineHeight * s : 0,
    log,
    log ? (t) => `1e${t}` : formatTick,
  );
  const { rect, y } = axis;
  const slot = (rect.x1 - rect.x0) / Math.max(1, categories.length);
  const groupW = slot * 0.8;
  const barW = Math.max(1, Math.floor(groupW / Math.max(1, series.length)));
  const base = log ? axis.ticks[0] : Math.min(Math.max(0, axis.ticks[0]), axis.ticks[axis.ticks.length - 1]);
  const xOf = (i: number) => rect.x0 + slot * (i + 0.5);
  // One scale for every value label: the text scale when all fit over their bars, else 1, else none.
  const labelWidth = Math.max(0, ...values.map((v) => textWidth(formatValue(v), 1)));
  const valueScale = !options.valueLabels
    ? 0
    : labelWidth * s <= barW + 2
    ? s
    : labelWidth <= barW + 2
    ? 1
    : 0;
  categories.forEach((cat, i) => {
    const cx = xOf(i);
    if (vertical) {
      canvas.text(cat, cx, rect.y1 + 4 * s, BLACK, {
        scale: s,
        vertical: true,
        align: "right",
        valign: "middle",
      });
    } else canvas.text(cat, cx, rect.y1 + 4 * s, BLACK, { scale: catScale, align: "center" });
    series.forEach((se, k) => {
      const value = se.values[i];
      const v = toAxis(value ?? null);
      if (v === null || value === null || value === undefined) return;
      const left = Math.round(cx - (barW * series.length) / 2 + k * barW);
      const top = Math.round(Math.min(y(v), y(base)));
      const bottom = Math.round(Math.max(y(v), y(base)));
      canvas.fillRect(
        left,
        top,
        barW - (series.length > 1 && barW > 3 ? 1 : 0),
        bottom - top,
        seriesColor(k),
      );
      if (valueScale > 0) {
        const at = v >= base ? top - 2 : bottom + 2 + FONT.ascent * valueScale;
        canvas.text(formatValue(value), left + barW / 2, at, BLACK, {
          scale: valueScale,
          align: "center",
          valign: "bottom",
        });
      }
    });
  });
  if (options.reference && toAxis(options.reference.value) !== null) {
    referenceLine(canvas, s, rect, y, { ...options.reference, value: toAxis(options.reference.value)! });
  }
  return { image: canvas.toRaster(), panels: [{ rect, y, x: xOf }] };
}

export interface HistogramOptions extends Frame {
  /** One panel per series, sharing the bins and the count axis. */
  readonly series: readonly { readonly name: string; readonly values: readonly number[] }[];
  /** Bin edges, increasing; values beyond the last edge count in the last bin, below the first in the first. */
  readonly edges: readonly number[];
  /** A dashed vertical marker (e.g. the fooled threshold). */
  readonly marker?: { readonly value: number; readonly label: string };
}

/** The bin edges of a histogram of values from 0: round steps up to a round end (the last bin holds more). */
export function roundEdges(hi: number, bins = 24): number[] {
  const { step } = niceTicks(0, hi, bins);
  const count = Math.max(1, Math.round(hi / step));
  return Array.from({ length: count + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** Counts of `values` in the bins of `edges` (clamped into the end bins; NaN ignored). */
export function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array(edges.length - 1).fill(0);
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    let b = edges.findIndex((e, i) => i > 0 && v < e) - 1;
    if (b < 0) b = v < edges[0] ? 0 : counts.length - 1;
    counts[Math.min(b, counts.length - 1)]++;
  }
  return counts;
}

export function histogram(options: HistogramOptions): ChartImage {
  const { series, edges } = options;
  const panelH = 170;
  const layout = frame({ yLabel: "count", ...options }, [], [760, 110 + series.length * panelH]);
  const { canvas, s, body } = layout;
  const counts = series.map((se) => binCounts(se.values, edges));
  const maxCount = Math.max(1, ...counts.flat());
  const h = (body.y1 - body.y0) / Math.max(1, series.length);
  const panels: Panel[] = [];
  const lo = edges[0], hi = edges[edges.length - 1];
  series.forEach((se, k) => {
    const area = { x0: body.x0, y0: body.y0 + k * h, x1: body.x1, y1: body.y0 + (k + 1) * h - 2 * s };
    const last = k === series.length - 1;
    const tickSpace = FONT.lineHeight * s + 4 * s;
    const axis = yAxis(layout, area, 0, maxCount, tickSpace, `${se.name} (n = ${se.values.length})`, 0, true);
    const { rect, y } = axis;
    const x = (v: number) => rect.x0 + ((v - lo) / (hi - lo)) * (rect.x1 - rect.x0);
    counts[k].forEach((c, b) => {
      if (c === 0) return;
      const left = Math.round(x(edges[b])), right = Math.round(x(edges[b + 1]));
      canvas.fillRect(
        left,
        Math.round(y(c)),
        Math.max(1, right - left - 1),
        Math.round(y(0) - y(c)),
        seriesColor(k),
      );
    });
    const { ticks, step } = niceTicks(lo, hi, 6);
    for (const t of ticks) {
      if (t < lo - 1e-12 || t > hi + 1e-12) continue;
      const col = Math.round(x(t));
      canvas.line(col, rect.y1, col, rect.y1 + 3 * s, BLACK);
      if (last || series.length === 1) {
        canvas.text(formatTick(t, step), col, rect.y1 + 4 * s, BLACK, { scale: s, align: "center" });
      }
    }
    if (options.marker) {
      const col = Math.round(x(options.marker.value));
      canvas.line(col, rect.y0, col, rect.y1, BLACK, 1, [5, 4]);
      canvas.text(options.marker.label, col + 3 * s, rect.y0 + 2, BLACK, { scale: s });
    }
    panels.push({ rect, y, x });
  });
  return { image: canvas.toRaster(), panels };
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

export interface LineChartOptions extends Frame {
  readonly series: readonly LineSeries[];
  readonly yMin?: number;
  readonly yMax?: number;
  readonly reference?: { readonly value: number; readonly label: string };
  /** Dashed vertical lines at these x values (e.g. epoch ends), labelled at the top where there is room. */
  readonly xMarks?: readonly { readonly value: number; readonly label: string }[];
  /**
   * Each series its own marker shape and a pixel's vertical offset per series, so lines that coincide
   * (several levels fooled 100 %) stay visible side by side; the shift is a fraction of a tick.
   */
  readonly dodge?: boolean;
  /** Points only, no joining line (thousands of steps read better so, and nothing is interpolated). */
  readonly markersOnly?: boolean;
}

/** Marker shapes in series order: square, diamond, triangle, cross. */
function drawMarker(canvas: Canvas, x: number, y: number, m: number, shape: number, c: Rgb): void {
  const kind = shape % 4;
  for (let dy = -m; dy <= m; dy++) {
    for (let dx = -m; dx <= m; dx++) {
      const inside = kind === 0
        ? true
        : kind === 1
        ? Math.abs(dx) + Math.abs(dy) <= m
        : kind === 2
        ? dy >= -m + 2 * Math.abs(dx) - m
        : Math.abs(Math.abs(dx) - Math.abs(dy)) <= Math.max(1, m / 3);
      if (inside) canvas.setPixel(Math.round(x + dx), Math.round(y + dy), c);
    }
  }
}

/** Lines with square markers through each series' points (sorted by x), on numeric axes. */
export function lineChart(options: LineChartOptions): ChartImage {
  const { series } = options;
  const layout = frame(options, series.map((se) => se.name), [760, 480]);
  const { canvas, s, body } = layout;
  const xs = series.flatMap((se) => se.points.map((p) => p[0]));
  const ys = series.flatMap((se) => se.points.map((p) => p[1])).filter(isFinite);
  const axis = yAxis(
    layout,
    body,
    options.yMin ?? Math.min(...ys),
    options.yMax ?? Math.max(...ys),
    FONT.lineHeight * s + 4 * s,
  );
  const { rect, y } = axis;
  const { ticks, step } = niceTicks(Math.min(...xs), Math.max(...xs), 6);
  const xlo = Math.min(ticks[0], ...xs), xhi = Math.max(ticks[ticks.length - 1], ...xs);
  const pad = 6 * s;
  const x = (v: number) => rect.x0 + pad + ((v - xlo) / (xhi - xlo || 1)) * (rect.x1 - rect.x0 - 2 * pad);
  for (const t of ticks) {
    const col = Math.round(x(t));
    canvas.line(col, rect.y0, col, rect.y1 - 1, LIGHT_GREY);
    canvas.line(col, rect.y1, col, rect.y1 + 3 * s, BLACK);
    canvas.text(formatTick(t, step), col, rect.y1 + 4 * s, BLACK, { scale: s, align: "center" });
  }
  if (options.reference) referenceLine(canvas, s, rect, y, options.reference);
  let lastLabel = -Infinity;
  for (const mark of options.xMarks ?? []) {
    const col = Math.round(x(mark.value));
    canvas.line(col, rect.y0, col, rect.y1 - 1, GREY, 1, [3, 3]);
    if (col - lastLabel < textWidth(mark.label, s) + 4 * s) continue;
    canvas.text(mark.label, col + 2 * s, rect.y0 + 2 * s, GREY, { scale: s });
    lastLabel = col;
  }
  series.forEach((se, k) => {
    const pts = [...se.points].filter((p) => isFinite(p[1])).sort((a, b) => a[0] - b[0]);
    const shift = options.dodge ? Math.round((k - (series.length - 1) / 2) * s) : 0;
    const pix = pts.map(([px, py]) => [x(px), y(py) + shift] as [number, number]);
    if (!options.markersOnly) canvas.polyline(pix, seriesColor(k), s);
    const m = options.markersOnly ? s : 3 * s;
    for (const [px, py] of pix) {
      if (options.dodge) drawMarker(canvas, px, py, m + s, k, seriesColor(k));
      else canvas.fillRect(px - m, py - m, 2 * m + 1, 2 * m + 1, seriesColor(k));
    }
  });
  return { image: canvas.toRaster(), panels: [{ rect, y, x }] };
}
