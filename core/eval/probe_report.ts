/** The probe's figure (fooled rate and flatness error against pasted area) and its report.md. */
import type { RasterU8 } from "../io/raster.ts";
import { lineChart } from "../plot/charts.ts";
import { grid } from "../plot/canvas.ts";
import type { ProbeCell, ProbeSummary } from "./probe.ts";
import { BLANK_NAME } from "./probe_art.ts";
import type { Criterion, Interval, ProbeCriteria } from "./probe_paired.ts";
import { num, pct } from "./report.ts";
export const PROBE_CHART = { width: 720, height: 460, gap: 8 } as const;

/**
 * Fooled rate and median flatness error against the measured pasted area, one line per depth-range level:
 * each level its own marker, levels that coincide (all fooled, or none) drawn a pixel apart, and the median
 * so one paste's outlier does not squash the panel; n pastes per point in the axis label.
 */
export function probeFigure(summary: ProbeSummary): RasterU8 {
  const series = (value: (c: ProbeCell) => number | null) =>
    summary.levels.map((level) => ({
      name: level.name,
      points: summary.cells
        .filter((c) => c.level === level.index && c.meanArea !== null && value(c) !== null)
        .map((c) => [c.meanArea!, value(c)!] as const),
    }));
  const trials = summary.cells.map((c) => c.trials);
  const n = Math.min(...trials) === Math.max(...trials)
    ? `${trials[0]}`
    : `${Math.min(...trials)}–${Math.max(...trials)}`;
  const common = {
    xLabel: `pasted area (share of the frame); n = ${n} pastes per point`,
    width: PROBE_CHART.width,
    height: PROBE_CHART.height,
    legend: true,
    dodge: true,
  };
  const fooled = lineChart({
    ...common,
    title: `Fooled rate (flatness error > ${summary.threshold})`,
    yLabel: "fooled rate",
    series: series((c) => c.fooledRate),
    yMin: 0,
    yMax: 1,
  });
  const median = (c: ProbeCell) => c.medianFlatnessError ?? c.meanFlatnessError;
  const errors = summary.cells.map(median).filter((e): e is number => e !== null && e !== undefined);
  const flatness = lineChart({
    ...common,
    title: "Median flatness error",
    yLabel: "flatness error",
    series: series((c) => median(c) ?? null),
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
        ? `depth range as ${summary.art.scoredBy} sees each picture alone, the same levels for every model ` +
          "scored so (art_scores.json)"
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
  if (summary.criteria) out.push(...criteriaSection(summary.criteria));
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
  if (summary.paired) out.push(...pairedSection(summary));
  out.push("", "## Reading", "", ...readingSection(summary), "");
  return out.join("\n");
}

/**
 * What this probe's numbers say, level by level against the blank control: whether the fooled rate rises
 * with the pasted area, how far it ends above or below the blank's at the largest size, and which level rises
 * most steeply, then whether that is the study's expected finding. Written from the cells, so a model that is
 * not fooled reads as not fooled.
 */
export function readingSection(summary: ProbeSummary): string[] {
  const { sizes, levels } = summary;
  const smallest = sizes[0], largest = sizes[sizes.length - 1];
  const cell = (level: number, size: number) =>
    summary.cells.find((c) => c.level === level && c.size === size);
  const rate = (level: number, size: number) => cell(level, size)?.fooledRate ?? null;
  const blank = levels.find((l) => l.index === 0);
  const art = levels.filter((l) => l.index > 0);
  const lines: string[] = [];
  const rises: { name: string; rise: number; excess: number | null }[] = [];
  for (const l of levels) {
    const low = rate(l.index, smallest), high = rate(l.index, largest);
    const blankHigh = blank ? rate(blank.index, largest) : null;
    const rise = low !== null && high !== null ? high - low : null;
    const excess = l.index > 0 && high !== null && blankHigh !== null ? high - blankHigh : null;
    const trend = rise === null
      ? "not measured at both ends"
      : rise > 0
      ? `rising by ${points(rise)} points`
      : rise < 0
      ? `falling by ${points(-rise).slice(1)} points`
      : "unchanged";
    lines.push(
      `- ${l.name}: fooled ${pct(low)} at ${pct(smallest)} of the frame, ${pct(high)} at ${pct(largest)} ` +
        `(${trend})` +
        (excess === null ? "." : `, ${points(excess)} points against the blank at ${pct(largest)}.`),
    );
    if (l.index > 0 && rise !== null) rises.push({ name: l.name, rise, excess });
  }
  lines.push("");
  const above = rises.filter((r) => r.excess !== null && r.excess > 0);
  const steepest = [...rises].sort((a, b) => b.rise - a.rise)[0];
  const deepest = art[art.length - 1];
  if (rises.length === 0) {
    lines.push("Too few cells were measured to read a trend.");
    return lines;
  }
  lines.push(
    above.length === 0
      ? `No art level is fooled more often than the ${BLANK_NAME} at ${
        pct(largest)
      }: what this model sees in ` +
        "large pastes is the paste itself (its outline, border, pose), not the pictures' content."
      : `${above.length} of ${rises.length} art levels are fooled more often than the ${BLANK_NAME} at ` +
        `${pct(largest)} (${
          above.map((r) => `${r.name} ${points(r.excess)} points`).join(", ")
        }): there the ` +
        "pictures' content adds to what the paste alone does.",
  );
  const expected = above.length > 0 && steepest.rise > 0 && steepest.name === deepest?.name;
  lines.push(
    "",
    `The steepest rise with area is ${steepest.name}'s (${
      points(steepest.rise)
    } points). The study expects ` +
      "the art's rate to rise above the blank's with area, most steeply for the deepest-looking level: " +
      (expected ? "this probe shows that." : "this probe does not show that."),
  );
  return lines;
}

/** Several models probed on the same levels: one line each of the study's criteria, for comparing them. */
export function probeComparison(summaries: readonly ProbeSummary[]): string {
  const first = summaries[0];
  const out = [
    "# trompe probe: models compared",
    "",
    `Every model was probed on the same frames, poses and art levels (scored by ${first.art.scoredBy}); each ` +
    "model's own report is in its folder.",
    "",
    "| model | large: art/blank flatness error | large: art − blank fooled | small: art fooled | beyond the blank |",
    "|---|---|---|---|---|",
  ];
  for (const s of summaries) {
    const c = s.criteria;
    out.push(
      c
        ? `| [${s.model}](${s.model}/report.md) | ${num(c.large.flatnessRatio.value, 3)}× | ${
          pointsInterval(c.large.fooledExcess.interval)
        } | ${pct(c.small.fooledRate.value)} | ${c.fooledBeyondBlank ? "yes" : "no"} |`
        : `| [${s.model}](${s.model}/report.md) | – | – | – | not measured |`,
    );
  }
  return out.join("\n") + "\n";
}

const points = (v: number | null | undefined) =>
  v === null || v === undefined || !Number.isFinite(v) ? "–" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}`;

/** "+12.0 points [−3.1, +27.1]": a paired rate difference with its 95 % interval. */
export function pointsInterval(i: Interval | null): string {
  if (!i) return "–";
  return `${points(i.mean)} points` + (i.low === null ? "" : ` [${points(i.low)}, ${points(i.high)}]`);
}

function numInterval(i: Interval | null): string {
  if (!i) return "–";
  return num(i.mean, 3) + (i.low === null ? "" : ` [${num(i.low, 3)}, ${num(i.high, 3)}]`);
}

const yesNo = (c: Criterion) => (c.met ? "yes" : c.value === null ? "no (not measured)" : "no");
const sizesText = (
  sizes: readonly number[],
) => (sizes.length ? sizes.map((s) => pct(s)).join(", ") : "none probed");

/** What "fooled" means in this report's verdicts. */
export function verdictText(c: ProbeCriteria): string {
  return c.verdict === "flatness and follows"
    ? `flatness error > ${c.threshold} and followsArt ≥ ${c.followThreshold} (the prediction's relief follows ` +
      "the picture's own depth); the blank is judged against the depth of the picture it stands in for"
    : `flatness error > ${c.threshold} (the pictures carry no depth of their own, so followsArt cannot be read)`;
}

/** The study's acceptance criteria (issue 20, item 3), as a table and a one-line answer. */
export function criteriaSection(c: ProbeCriteria): string[] {
  const { large, small } = c;
  const ratio = large.flatnessRatio.value;
  return [
    "## Fooled beyond the blank? (the study's criteria)",
    "",
    `Art pasted at large sizes (≥ ${pct(0.2)} of the frame: ${
      sizesText(large.sizes)
    }; ${large.pairs} pairs) ` +
    `and small ones (≤ ${pct(0.02)}: ${sizesText(small.sizes)}; ${small.pairs} pairs), every art level ` +
    `together, each paste against the ${BLANK_NAME} in the identical pose. Fooled = ${verdictText(c)}.`,
    "",
    "| criterion | value | target | met |",
    "|---|---|---|---|",
    `| large: art's mean flatness error / the blank's | ${ratio === null ? "–" : `${num(ratio, 3)}×`} ` +
    `(art ${num(large.meanArtFlatnessError, 3)}, blank ${num(large.meanBlankFlatnessError, 3)}; ` +
    `ratio of medians ${num(large.medianFlatnessRatio, 3)}×) | ≥ ${large.flatnessRatio.target}× | ${
      yesNo(large.flatnessRatio)
    } |`,
    `| large: art's fooled rate − the blank's | ${pointsInterval(large.fooledExcess.interval)} ` +
    `(art ${pct(large.artFooledRate)}, blank ${pct(large.blankFooledRate)}) | ≥ +${
      (100 * large.fooledExcess.target).toFixed(0)
    } points | ${yesNo(large.fooledExcess)} |`,
    `| small: art's fooled rate | ${pct(small.fooledRate.value)} (blank ${pct(small.blankFooledRate)}) | ≤ ${
      pct(small.fooledRate.target)
    } | ${yesNo(small.fooledRate)} |`,
    "",
    `**Fooled beyond the blank: ${c.fooledBeyondBlank ? "yes" : "no"}** (art/blank flatness error ${
      ratio === null ? "–" : `${num(ratio, 3)}×`
    }, fooled rate ${pointsInterval(large.fooledExcess.interval)} at ≥ ${pct(0.2)}; flatness error alone ` +
    `would say ${pointsInterval(large.flatnessOnlyExcess)}; followsArt ${
      num(large.meanFollowsArt, 3)
    } on the art, ` +
    `${num(large.meanBlankFollowsArt, 3)} on the blank). Small pastes rarely fooled: ${
      small.fooledRate.met ? "yes" : "no"
    }. All criteria met: ${c.met ? "yes" : "no"}.`,
    "",
  ];
}

/** Per size and art level: art − blank, pose by pose, with 95 % intervals. */
export function pairedSection(summary: ProbeSummary): string[] {
  const paired = summary.paired ?? [];
  const artLevels = summary.levels.filter((l) => l.index > 0);
  const out = [
    "",
    "## Art against the blank, pose by pose",
    "",
    `Each art paste minus the ${BLANK_NAME} pasted in the identical pose (same frame, repeat, size, rotation, ` +
    "position, shape and border; the blank is pasted at the art's own aspect ratio so the augmenter draws the " +
    "same pose). Each cell: mean difference in flatness error [95 % t interval]; in the fooled verdict, in " +
    "points [95 %]; followsArt on the art / on its blank; pairs (and art pastes left unpaired).",
    "",
    `**followsArt**: over the picture's pixels of the paste, the Pearson correlation between the prediction's ` +
    "inverse depth minus its own plane fit (relative residual, as in the flatness error) and the picture's own " +
    "inverse depth — its dataset ground truth, warped into the paste with the compositor's homography — minus " +
    "its plane fit: 1 when the model's relief has the shape of the picture's depth, 0 when unrelated to it or " +
    "flat (its square is the share of the relief the picture explains; the slope, in probe.jsonl, how strongly). " +
    "On the blank it is read against the depth of the picture the blank stands in for: following by chance.",
    "",
    `| area | ${artLevels.map((l) => l.name).join(" | ")} |`,
    `|---|${artLevels.map(() => "---|").join("")}`,
  ];
  for (const size of summary.sizes) {
    const cells = artLevels.map((l) => paired.find((c) => c.level === l.index && c.size === size));
    out.push(
      `| ${pct(size)} | ${
        cells.map((c) =>
          c
            ? `${numInterval(c.flatnessDiff)}; ${pointsInterval(c.verdictDiff)}; ${
              num(c.meanFollowsArt, 3)
            } / ${num(c.meanBlankFollowsArt, 3)}; ${c.pairs}${c.unpaired ? ` (${c.unpaired} unpaired)` : ""}`
            : "–"
        ).join(" | ")
      } |`,
    );
  }
  return out;
}
