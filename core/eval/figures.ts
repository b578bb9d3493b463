/**
 * The evaluation's figures, from the per-model summaries: one small bar panel per metric (models side by side,
 * each panel on its own scale, since rmse in metres and d1 in [0, 1] cannot share one), the flatness-error
 * histogram of each model's pasted regions, and the fooled rate by region size.
 */
import type { RasterU8 } from "../io/raster.ts";
import { barChart, formatValue, histogram, legendStrip, roundEdges } from "../plot/charts.ts";
import type { ModelSummary } from "./evaluate.ts";
import { METRIC_NAMES, type MetricName } from "./metrics.ts";
import { BLACK, Canvas, grid } from "../plot/canvas.ts";

/** Metrics where higher is better; every other one is an error. */
const HIGHER_IS_BETTER = new Set<string>(["d1", "d2", "d3"]);

interface MetricPanel {
  readonly title: string;
  readonly values: (number | null)[];
  readonly higherIsBetter: boolean;
}

function panels(models: readonly ModelSummary[]): MetricPanel[] {
  const official = METRIC_NAMES.map((name: MetricName) => ({
    title: name,
    values: models.map((m) => m.official.mean?.[name] ?? null),
    higherIsBetter: HIGHER_IS_BETTER.has(name),
  }));
  const hasFlat = models.some((m) => m.flat.pasted > 0);
  const hasBackground = models.some((m) => m.background.mean !== null);
  const flat = !hasFlat ? [] : [
    { title: "fooled rate", values: models.map((m) => m.flat.fooledRate), higherIsBetter: false },
    { title: "flatness error", values: models.map((m) => m.flat.meanFlatnessError), higherIsBetter: false },
    { title: "region abs_rel", values: models.map((m) => m.flat.meanAbsRel), higherIsBetter: false },
    ...(models.some((m) => m.flat.negatives > 0)
      ? [{ title: "false-flat rate", values: models.map((m) => m.flat.falseFlatRate), higherIsBetter: false }]
      : []),
  ];
  const background = !hasBackground ? [] : [
    {
      title: "bg abs_rel",
      values: models.map((m) => m.background.mean?.abs_rel ?? null),
      higherIsBetter: false,
    },
    { title: "bg d1", values: models.map((m) => m.background.mean?.d1 ?? null), higherIsBetter: true },
  ];
  return [...official, ...flat, ...background];
}

/** Title, legend, then `images` in a grid. */
function titled(
  title: string,
  names: readonly string[],
  images: readonly RasterU8[],
  columns: number,
): RasterU8 {
  const body = grid(images, columns, 6);
  const legend = legendStrip(names, body.width);
  const head = 34;
  const canvas = new Canvas(body.width, head + legend.height + body.height + 8);
  canvas.text(title, body.width / 2, 10, BLACK, { scale: 2, align: "center" });
  canvas.drawImage(legend, 0, head);
  canvas.drawImage(body, 0, head + legend.height + 8);
  return canvas.toRaster();
}

export function metricsFigure(models: readonly ModelSummary[]): RasterU8 {
  const names = models.map((m) => m.name);
  const images = panels(models).map((p) =>
    barChart({
      title: `${p.title} ${p.higherIsBetter ? "↑" : "↓"}`,
      categories: [""],
      series: p.values.map((v, i) => ({ name: names[i], values: [v] })),
      valueLabels: true,
      legend: false,
      width: 300,
      height: 240,
    }).image
  );
  return titled("Metrics by model (↓ lower is better, ↑ higher is better)", names, images, 4);
}

/**
 * Bin edges for flatness errors: round steps from 0 to a round upper end covering most errors and the
 * threshold 5× over (errors beyond it are counted in the last bin).
 */
export function flatnessEdges(errors: readonly number[], threshold: number, bins = 24): number[] {
  const sorted = [...errors].filter((e) => Number.isFinite(e)).sort((a, b) => a - b);
  const p95 = sorted.length ? sorted[Math.floor((sorted.length - 1) * 0.95)] : 0;
  const raw = Math.max(5 * threshold, p95);
  const power = 10 ** Math.floor(Math.log10(raw));
  const hi = [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= raw)!;
  return roundEdges(hi, bins);
}

export function flatnessFigure(
  names: readonly string[],
  errors: readonly (readonly number[])[],
  threshold: number,
): RasterU8 {
  const edges = flatnessEdges(errors.flat(), threshold);
  return histogram({
    title: "Flatness error of pasted regions, per model",
    xLabel: `flatness error (RMS relative residual of a plane fit); errors ≥ ${
      formatValue(edges[edges.length - 1])
    } are counted in the last bin`,
    series: names.map((name, i) => ({ name, values: errors[i] })),
    edges,
    marker: { value: threshold, label: `fooled > ${threshold}` },
    width: 900,
  }).image;
}

export function sizeLabel(lo: number, hi: number): string {
  const pct = (v: number) => `${Number((v * 100).toFixed(1))}`;
  return hi >= 1 ? `≥ ${pct(lo)}%` : lo <= 0 ? `< ${pct(hi)}%` : `${pct(lo)}–${pct(hi)}%`;
}

export function fooledBySizeFigure(models: readonly ModelSummary[]): RasterU8 {
  const bins = models[0].bySize;
  return barChart({
    title: "Fooled rate by pasted-region size",
    xLabel: "region area (share of the frame), regions per bin in brackets",
    yLabel: "fooled rate",
    categories: bins.map((b) => `${sizeLabel(b.lo, b.hi)} (${b.regions})`),
    series: models.map((m) => ({ name: m.name, values: m.bySize.map((b) => b.rate) })),
    yMin: 0,
    yMax: 1,
    valueLabels: true,
    width: 960,
  }).image;
}

/** Every figure that has data: `metrics` always; the flat ones only when some region was evaluated. */
export function evalFigures(
  models: readonly ModelSummary[],
  pastedErrors: readonly (readonly number[])[],
  threshold: number,
): Record<string, RasterU8> {
  const figures: Record<string, RasterU8> = { metrics: metricsFigure(models) };
  if (models.some((m) => m.flat.pasted > 0)) {
    figures.flatness_error = flatnessFigure(models.map((m) => m.name), pastedErrors, threshold);
    figures.fooled_by_size = fooledBySizeFigure(models);
  }
  return figures;
}
