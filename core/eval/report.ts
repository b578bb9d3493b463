/**
 * report.md of an evaluation: the models side by side with each one's difference from the first (the
 * pretrained baseline, by convention), for the official metrics, the background, and the flat content, then
 * the figures, the contact sheet and the point clouds.
 */
import { DEPTH_RANGE } from "../data/datasets.ts";
import type { FlatSummary } from "./flat.ts";
import { sizeLabel } from "./figures.ts";
import { type DepthMetrics, METRIC_NAMES } from "./metrics.ts";
import type { EvalSummary, ModelEntry } from "./run.ts";
import { TROMPE_VERSION } from "../version.ts";

const HIGHER_IS_BETTER = new Set(["d1", "d2", "d3"]);

/** A number for a table: 4 significant digits, "–" when absent. */
export function num(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-4 ? v.toExponential(2) : Number(v.toPrecision(digits)).toString();
}

/** A signed difference, marked ✓ when it is an improvement and ✗ when it is worse; rates in points. */
export function signed(v: number | null | undefined, higherIsBetter: boolean, percent = false): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const better = higherIsBetter ? v > 0 : v < 0;
  const shown = percent ? `${(100 * v).toFixed(1)} pp` : num(v);
  return `${v > 0 ? "+" : ""}${shown} ${better ? "✓" : "✗"}`;
}

export function pct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : `${(100 * v).toFixed(1)} %`;
}

interface Row {
  readonly label: string;
  readonly value: (m: ModelEntry) => number | null | undefined;
  readonly higher: boolean;
  /** A rate in [0, 1], shown in percent and its differences in percentage points. */
  readonly percent?: boolean;
}

/** Rows of `label | model 1 | model 2 | Δ2 | model 3 | Δ3 …`. */
function sideBySide(models: readonly ModelEntry[], rows: readonly Row[]): string {
  const head = ["", ...models.flatMap((m, i) => (i === 0 ? [m.name] : [m.name, `Δ vs ${models[0].name}`]))];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`];
  for (const row of rows) {
    const first = row.value(models[0]);
    const cells = models.flatMap((m, i) => {
      const v = row.value(m);
      const shown = row.percent ? pct(v) : num(v);
      if (i === 0) return [shown];
      const d = v === null || v === undefined || first === null || first === undefined ? null : v - first;
      return [shown, signed(d, row.higher, row.percent)];
    });
    lines.push(`| ${row.label} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function metricRows(pick: (m: ModelEntry) => DepthMetrics | null): Row[] {
  return METRIC_NAMES.map((name) => ({
    label: `${name} ${HIGHER_IS_BETTER.has(name) ? "↑" : "↓"}`,
    value: (m: ModelEntry) => pick(m)?.[name],
    higher: HIGHER_IS_BETTER.has(name),
  }));
}

function flatRows(pick: (m: ModelEntry) => FlatSummary, threshold: number): Row[] {
  return [
    { label: "pasted regions", value: (m: ModelEntry) => pick(m).pasted, higher: true },
    {
      label: `fooled rate (flatness error > ${threshold}) ↓`,
      value: (m: ModelEntry) => pick(m).fooledRate,
      higher: false,
      percent: true,
    },
    { label: "mean flatness error ↓", value: (m: ModelEntry) => pick(m).meanFlatnessError, higher: false },
    {
      label: "region abs_rel vs flat ground truth ↓",
      value: (m: ModelEntry) => pick(m).meanAbsRel,
      higher: false,
    },
  ];
}

/** Which depths were evaluated, and where that range came from. */
function rangeSentence({ dataset, range, rangeSource }: EvalSummary): string {
  const own = DEPTH_RANGE[dataset];
  const from = rangeSource === "dataset"
    ? `${dataset}'s range; \`--eval-range MIN,MAX\` sets another`
    : `given by \`--eval-range\`; ${dataset}'s is ${own.minDepth}–${own.maxDepth} m`;
  return `Depth range ${range.minDepth}–${range.maxDepth} m (${from}).`;
}

/** train.py masks by the model's max_depth, not the dataset's: when its figures and these agree. */
function trainPyRangeNote({ range }: EvalSummary): string {
  return "train.py's range is its min_depth to the model's max_depth (its `--max-depth`), not the dataset's: " +
    `its numbers equal these only where that range is ${range.minDepth}–${range.maxDepth} m.`;
}

export function evalReport(summary: EvalSummary, progressLine?: string): string {
  const { models, images } = summary;
  const out: string[] = [];
  out.push(`# trompe evaluation: ${models.map((m) => m.name).join(" vs ")}`, "");
  out.push(
    `${summary.dataset} at \`${summary.root}\`${summary.split ? `, split \`${summary.split}\`` : ""}: ` +
      `${images.evaluated} of ${images.listed} frames evaluated by every model` +
      (images.failed ? `, ${images.failed} failed (see rejects.jsonl)` : "") +
      `; ${images.withMask} with augmentation masks. ${rangeSentence(summary)}` +
      ` trompe ${TROMPE_VERSION}.`,
    "",
  );
  if (progressLine) out.push(`_${progressLine}_`, "");
  out.push(
    "## Models",
    "",
    "| model | source | output | s / frame | first frame, s |",
    "|---|---|---|---:|---:|",
  );
  for (const m of models) {
    const output = m.kind === "depth" ? "metric depth" : "relative disparity, aligned by scale and shift";
    out.push(
      `| ${m.name} | \`${m.source}\` | ${output} | ${num(m.secondsPerImage, 3)} | ${
        num(m.warmupSeconds, 3)
      } |`,
    );
  }
  out.push(
    "",
    "s / frame leaves the first frame out: it compiles the GPU pipelines, for the first model only.",
  );
  out.push("", `Δ columns: each model minus ${models[0].name}; ✓ marks an improvement, ✗ a regression.`, "");

  out.push(
    "## Official metrics",
    "",
    "As `metric_depth/train.py` evaluates: the prediction resized to the ground truth (bilinear, align_corners), " +
      "pixels with valid depth in range, frames with fewer than 10 such pixels skipped, per-frame metrics averaged " +
      `over ${models[0].official.images} frames. ${trainPyRangeNote(summary)}`,
    "",
    sideBySide(models, metricRows((m) => m.official.mean)),
    "",
  );

  if (images.withMask > 0) {
    out.push(
      "## Background",
      "",
      "The official metrics outside every augmentation mask: the real scene around the pasted content. A " +
        "fine-tuned model that stops seeing depth in flat content should not lose it here " +
        `(${models[0].background.images} frames).`,
      "",
      sideBySide(models, metricRows((m) => m.background.mean)),
      "",
      "## Flat content",
      "",
      "Per pasted region (mirror or art), an affine fit of inverse predicted depth over the region's pixels; " +
        "the flatness error is the RMS relative residual (0: the model sees a plane). A region fools the model " +
        `when its flatness error exceeds ${summary.threshold}.`,
      "",
      sideBySide(models, [
        ...flatRows((m) => m.flat, summary.threshold),
        { label: "mirrors: fooled rate", value: (m) => m.mirror.fooledRate, higher: false, percent: true },
        { label: "art: fooled rate", value: (m) => m.art.fooledRate, higher: false, percent: true },
        { label: "negatives judged (non-flat ground truth)", value: (m) => m.flat.negatives, higher: true },
        {
          label: "negatives: false-flat rate (a bordered real scene seen as flat) ↓",
          value: (m) => m.flat.falseFlatRate,
          higher: false,
          percent: true,
        },
      ]),
      "",
      "### Fooled rate by region size",
      "",
      `| region area | regions | ${models.map((m) => m.name).join(" | ")} |`,
      `|---|---:|${models.map(() => "---:").join("|")}|`,
      ...models[0].bySize.map((b, i) =>
        `| ${sizeLabel(b.lo, b.hi)} | ${b.regions} | ${
          models.map((m) => pct(m.bySize[i].rate)).join(" | ")
        } |`
      ),
      "",
    );
  } else {
    out.push("No augmentation masks in this set: official metrics only.", "");
  }

  out.push("## Figures", "");
  for (const chart of summary.files.charts) out.push(`![${chart}](${chart})`, "");
  if (summary.files.sheet) {
    out.push(
      "## Worst regions",
      "",
      "The regions with the highest flatness error (largest over the models), worst first: RGB with the region " +
        "outlined, ground truth, each model's depth (one inverse-depth colour range per row, from the ground truth), " +
        "and each model's relative error.",
      "",
      `![worst regions](${summary.files.sheet})`,
      "",
    );
  }
  if (summary.files.ply.length) {
    out.push(
      "## Point clouds",
      "",
      "Binary PLY in metres (camera axes x right, y down, z forward), coloured by the RGB; open them together in " +
        "CloudCompare to see where a model bends a flat surface.",
      "",
      ...summary.files.ply.map((f) => `- \`${f}\``),
      "",
    );
  }
  return out.join("\n");
}
