/** The probe's figure (fooled rate and flatness error against pasted area) and its report.md. */
import type { RasterU8 } from "../io/raster.ts";
import { lineChart } from "./charts.ts";
import { grid } from "./plot.ts";
import type { ProbeCell, ProbeSummary } from "./probe.ts";
import { BLANK_NAME } from "./probe_art.ts";
import { num, pct } from "./report.ts";
export const PROBE_CHART = { width: 720, height: 460, gap: 8 } as const;

/** Fooled rate and mean flatness error against the measured pasted area, one line per depth-range level. */
export function probeFigure(summary: ProbeSummary): RasterU8 {
  const series = (value: (c: ProbeCell) => number | null) =>
    summary.levels.map((level) => ({
      name: level.name,
      points: summary.cells
        .filter((c) => c.level === level.index && c.meanArea !== null && value(c) !== null)
        .map((c) => [c.meanArea!, value(c)!] as const),
    }));
  const common = {
    xLabel: "pasted area (share of the frame)",
    width: PROBE_CHART.width,
    height: PROBE_CHART.height,
    legend: true,
  };
  const fooled = lineChart({
    ...common,
    title: `Fooled rate (flatness error > ${summary.threshold})`,
    yLabel: "fooled rate",
    series: series((c) => c.fooledRate),
    yMin: 0,
    yMax: 1,
  });
  const errors = summary.cells.map((c) => c.meanFlatnessError).filter((e): e is number => e !== null);
  const flatness = lineChart({
    ...common,
    title: "Mean flatness error",
    yLabel: "flatness error",
    series: series((c) => c.meanFlatnessError),
    yMin: 0,
    // The threshold stays in view even when every paste is well below it.
    yMax: Math.max(1.5 * summary.threshold, ...errors),
    reference: { value: summary.threshold, label: `fooled > ${summary.threshold}` },
  });
  return grid([fooled.image, flatness.image], 2, PROBE_CHART.gap);
}

export function probeReport(summary: ProbeSummary, progressLine?: string): string {
  const out: string[] = [];
  const { frames, levels, sizes } = summary;
  out.push(`# trompe probe: ${summary.model}`, "");
  out.push(
    `Art from \`${summary.art.dir}\` (${summary.art.pieces} pieces, ${
      summary.art.kind === "pool"
        ? "depth range as the model sees each picture alone"
        : `${summary.art.kind} frames, depth range from their ground truth`
    }) pasted into ${summary.dataset} frames of \`${
      summary.split ?? summary.root
    }\`: ${frames.probed} of ${frames.listed} frames probed` +
      (frames.failed ? ` (${frames.failed} with failures, see rejects.jsonl)` : "") +
      `, ${summary.trials} pastes (${sizes.length} sizes × ${levels.length} levels × ${summary.repeats} per frame), seed ${summary.seed}. ` +
      `A paste fools the model when the flatness error of its predicted inverse depth exceeds ${summary.threshold}.`,
    "",
  );
  if (progressLine) out.push(`_${progressLine}_`, "");
  out.push("![fooled rate and flatness error against pasted area](probe.png)", "");
  out.push("## Depth-range levels", "", "| level | art depth ratio (p95/p5) | pieces |", "|---|---|---|");
  for (const l of levels) {
    out.push(`| ${l.index + 1} | ${l.name} | ${l.pieces.map((p) => `\`${p}\``).join(", ")} |`);
  }
  out.push("", "## Fooled rate by size and level", "");
  out.push(
    "Each cell: fooled rate (mean flatness error; the same pixels' error before the paste; pastes). " +
      "Area: requested → mean measured share of the frame.",
    "",
  );
  out.push(
    `| area | ${levels.map((l) => l.name).join(" | ")} |`,
    `|---|${levels.map(() => "---|").join("")}`,
  );
  for (const size of sizes) {
    const cells = levels.map((l) => summary.cells.find((c) => c.level === l.index && c.size === size)!);
    const measured = cells.map((c) => c.meanArea).filter((a): a is number => a !== null);
    const area = measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : null;
    out.push(
      `| ${pct(size)} → ${pct(area)} | ${
        cells.map((c) =>
          `${pct(c.fooledRate)} (${num(c.meanFlatnessError)}; ${num(c.meanFlatnessErrorBefore)}; ${c.trials})`
        ).join(" | ")
      } |`,
    );
  }
  out.push("", "## Reading", "");
  const smallest = sizes[0], largest = sizes[sizes.length - 1];
  for (const l of levels) {
    const at = (size: number) => summary.cells.find((c) => c.level === l.index && c.size === size)!;
    out.push(
      `- ${l.name}: fooled ${pct(at(smallest).fooledRate)} at ${pct(smallest)} of the frame, ` +
        `${pct(at(largest).fooledRate)} at ${pct(largest)}.`,
    );
  }
  out.push(
    "",
    `The ${BLANK_NAME} is the control: the same pose, size and border with nothing painted, so what it scores ` +
      "is the model's own non-flatness over the region; what a level scores above it is what the art's content " +
      "does. The study's finding is that small pastes do not fool a depth model and large ones whose content " +
      "has foreground objects do: on a trained model the art's rate rises above the blank's with area, most " +
      "steeply for the deepest-looking level.",
    "",
  );
  return out.join("\n");
}
