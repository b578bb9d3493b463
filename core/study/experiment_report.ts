/**
 * The study's numbers and words: each model's metrics on the held-out scenes, each arm's mean, spread and
 * range over its seeds, the hypotheses the issue states checked against them (a verdict with its numbers,
 * whichever way it goes), a figure with every seed's value, and study.md.
 */
import { relative } from "node:path";
import { barChart } from "../plot/charts.ts";
import { grid } from "../plot/canvas.ts";
import { num, pct } from "../eval/report.ts";
import type { ProbeSummary } from "../eval/probe.ts";
import type { RasterU8 } from "../io/raster.ts";
import type { ExperimentResult, ModelResult } from "./experiment.ts";

interface Metric {
  readonly key: string;
  readonly label: string;
  readonly higherIsBetter: boolean;
  readonly percent?: boolean;
  readonly value: (m: ModelResult) => number | null;
}

/** A path as the page shows it: from the folder the command ran in, so the page reads the same on any machine. */
const shown = (path: string) => relative(Deno.cwd(), path) || ".";

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

const finite = (v: number | null | undefined): number | null =>
  v !== null && v !== undefined && Number.isFinite(v) ? v : null;

/**
 * Art's mean flatness error minus the blank canvas's in the same poses, over the probe's large pastes
 * (core/eval/probe_paired.ts's criteria): the model's depth inside the picture beyond what the paste's
 * outline alone gives it.
 */
export function artExcess(p: ProbeSummary): number | null {
  const large = p.criteria?.large;
  const art = finite(large?.meanArtFlatnessError), blank = finite(large?.meanBlankFlatnessError);
  return art === null || blank === null ? null : art - blank;
}

export const METRICS: readonly Metric[] = [
  {
    key: "fooled",
    label: "fooled rate, pasted regions",
    higherIsBetter: false,
    percent: true,
    value: (m) => finite(m.augmented.flat.fooledRate),
  },
  {
    key: "flatness",
    label: "mean flatness error, pasted regions",
    higherIsBetter: false,
    value: (m) => finite(m.augmented.flat.meanFlatnessError),
  },
  {
    key: "regionAbsRel",
    label: "pasted-region abs_rel",
    higherIsBetter: false,
    value: (m) => finite(m.augmented.flat.meanAbsRel),
  },
  {
    key: "artExcess",
    label: "probe: art − blank flatness error (large pastes, same poses)",
    higherIsBetter: false,
    value: (m) => finite(artExcess(m.probe)),
  },
  {
    key: "artFooledExcess",
    label: "probe: art − blank fooled rate (large pastes, same poses)",
    higherIsBetter: false,
    percent: true,
    value: (m) => finite(m.probe.criteria?.large.fooledExcess.value),
  },
  {
    key: "followsArt",
    label: "probe: followsArt, large pastes (prediction's relief explained by the picture's)",
    higherIsBetter: false,
    value: (m) => finite(m.probe.criteria?.large.meanFollowsArt),
  },
  {
    key: "falseFlat",
    label: "false-flat rate, bordered negatives",
    higherIsBetter: false,
    percent: true,
    value: (m) => finite(m.augmented.flat.falseFlatRate),
  },
  {
    key: "openingsFalseFlat",
    label: "false-flat rate, real openings (clean held-out: windows, doorways, hatches)",
    higherIsBetter: false,
    percent: true,
    value: (m) => finite(m.clean.flat.falseFlatRate),
  },
  {
    key: "backgroundAbsRel",
    label: "background abs_rel (augmented frames)",
    higherIsBetter: false,
    value: (m) => finite(m.augmented.background.mean?.abs_rel),
  },
  {
    key: "backgroundD1",
    label: "background d1",
    higherIsBetter: true,
    value: (m) => finite(m.augmented.background.mean?.d1),
  },
  {
    key: "cleanAbsRel",
    label: "clean-scene abs_rel",
    higherIsBetter: false,
    value: (m) => finite(m.clean.official.mean?.abs_rel),
  },
  {
    key: "cleanD1",
    label: "clean-scene d1",
    higherIsBetter: true,
    value: (m) => finite(m.clean.official.mean?.d1),
  },
];

export interface Spread {
  readonly n: number;
  readonly mean: number | null;
  /** Sample standard deviation (n − 1); null below two values. */
  readonly sd: number | null;
  readonly min: number | null;
  readonly max: number | null;
}

export function spread(values: readonly (number | null)[]): Spread {
  const xs = values.filter((v): v is number => v !== null);
  if (xs.length === 0) return { n: 0, mean: null, sd: null, min: null, max: null };
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : null;
  return { n: xs.length, mean, sd, min: Math.min(...xs), max: Math.max(...xs) };
}

/** Per metric: the base model's value and each arm's spread over its seeds. */
export function armTable(
  result: ExperimentResult,
): Record<string, { base: number | null; arms: Record<string, Spread> }> {
  const base = result.models.find((m) => m.arm === null)!;
  const table: Record<string, { base: number | null; arms: Record<string, Spread> }> = {};
  for (const metric of METRICS) {
    const arms: Record<string, Spread> = {};
    for (const arm of result.arms) {
      arms[arm.name] = spread(result.models.filter((m) => m.arm === arm.name).map(metric.value));
    }
    table[metric.key] = { base: metric.value(base), arms };
  }
  return table;
}

export interface Verdict {
  readonly claim: string;
  /** true holds, false does not, null cannot be judged (a number is missing or the precondition fails). */
  readonly holds: boolean | null;
  readonly numbers: string;
}

/** The issue's precondition and hypotheses, judged on the arm means. */
export function verdicts(result: ExperimentResult): Verdict[] {
  const t = armTable(result);
  const base = result.models.find((m) => m.arm === null)!;
  const mean = (key: string, arm: string) => t[key].arms[arm]?.mean ?? null;
  const out: Verdict[] = [];
  const judge = (ok: boolean | null, claim: string, numbers: string) =>
    out.push({ claim, holds: ok, numbers });
  const both = (a: number | null, b: number | null, f: (a: number, b: number) => boolean) =>
    a === null || b === null ? null : f(a, b);
  // The precondition is the probe's own criteria on the base model (core/eval/probe_paired.ts).
  const c = base.probe.criteria;
  const met = (
    x: { value: number | null; met: boolean } | undefined,
  ) => (x && x.value !== null ? x.met : null);
  judge(
    met(c?.large.flatnessRatio),
    `precondition: large pasted art gives the base model at least ${
      c?.large.flatnessRatio.target ?? 2
    }× the ` +
      "blank canvas's flatness error in the same poses",
    `art ${num(c?.large.meanArtFlatnessError)}, blank ${num(c?.large.meanBlankFlatnessError)}, ratio ` +
      `${num(c?.large.flatnessRatio.value)} (of medians ${num(c?.large.medianFlatnessRatio)})`,
  );
  judge(
    met(c?.large.fooledExcess),
    "precondition: large art fools the base model at least 30 points more often than the blank",
    `art ${pct(c?.large.artFooledRate)}, blank ${pct(c?.large.blankFooledRate)}; verdict: ${
      c?.verdict ?? "–"
    }`,
  );
  judge(
    met(c?.small.fooledRate),
    "precondition: small pastes rarely fool the base model",
    `art ${pct(c?.small.fooledRate.value)} (target ${c?.small.fooledRate.sense ?? "≤"} ${
      pct(c?.small.fooledRate.target)
    }), blank ${pct(c?.small.blankFooledRate)}`,
  );
  const has = (arm: string) => result.arms.some((a) => a.name === arm);
  if (has("trompe")) {
    const baseExcess = t.artExcess.base, trompeExcess = mean("artExcess", "trompe");
    judge(
      baseExcess === null || baseExcess <= 0 ? null : both(trompeExcess, baseExcess, (a, b) => a <= 0.5 * b),
      "trompe removes at least half of the art's excess flatness error over the blank",
      `excess: base ${num(baseExcess)}, trompe ${num(trompeExcess)}`,
    );
    const within = (key: string) => both(mean(key, "trompe"), t[key].base, (a, b) => a <= 1.05 * b);
    const clean = within("cleanAbsRel"), background = within("backgroundAbsRel");
    judge(
      clean === null || background === null ? null : clean && background,
      "trompe keeps clean-scene and background abs_rel within +5 % of the base",
      `clean ${num(t.cleanAbsRel.base)} → ${num(mean("cleanAbsRel", "trompe"))}, background ${
        num(t.backgroundAbsRel.base)
      } → ${num(mean("backgroundAbsRel", "trompe"))}`,
    );
  }
  if (has("trompe") && has("seed")) {
    judge(
      both(mean("openingsFalseFlat", "trompe"), mean("openingsFalseFlat", "seed"), (a, b) => a < b),
      "trompe has a lower false-flat rate on real openings than the seed recipe",
      `trompe ${pct(mean("openingsFalseFlat", "trompe"))}, seed ${pct(mean("openingsFalseFlat", "seed"))}`,
    );
    judge(
      both(mean("falseFlat", "trompe"), mean("falseFlat", "seed"), (a, b) => a < b),
      "trompe has a lower false-flat rate on bordered negatives than the seed recipe",
      `trompe ${pct(mean("falseFlat", "trompe"))}, seed ${pct(mean("falseFlat", "seed"))}`,
    );
  }
  if (has("seed")) {
    judge(
      both(mean("backgroundAbsRel", "seed"), t.backgroundAbsRel.base, (a, b) => a > 1.05 * b),
      "the seed recipe loses background depth (background abs_rel more than +5 % over the base)",
      `${num(t.backgroundAbsRel.base)} → ${num(mean("backgroundAbsRel", "seed"))}`,
    );
    judge(
      both(mean("openingsFalseFlat", "seed"), t.openingsFalseFlat.base, (a, b) => a > b),
      "the seed recipe sees framed quadrilaterals (real openings) as flat more than the base does",
      `${pct(t.openingsFalseFlat.base)} → ${pct(mean("openingsFalseFlat", "seed"))}`,
    );
  }
  return out;
}

function cell(metric: Metric, s: Spread): string {
  const f = (v: number | null) => (metric.percent ? pct(v) : num(v));
  if (s.mean === null) return "–";
  if (s.n === 1) return f(s.mean);
  return `${f(s.mean)} ± ${f(s.sd)} (${f(s.min)}–${f(s.max)})`;
}

/** One bar chart per metric: categories base and the arms, one series per seed, so the spread is visible. */
export function studyFigure(result: ExperimentResult): RasterU8 {
  const seeds = [...new Set(result.models.filter((m) => m.seed !== null).map((m) => m.seed!))];
  const categories = ["base", ...result.arms.map((a) => a.name)];
  const charts = METRICS.map((metric) =>
    barChart({
      title: `${metric.label} ${metric.higherIsBetter ? "↑" : "↓"}`,
      categories,
      series: seeds.map((seed, i) => ({
        name: `seed ${seed}`,
        values: categories.map((c) => {
          const m = c === "base"
            ? (i === 0 ? result.models.find((x) => x.arm === null) : undefined)
            : result.models.find((x) => x.arm === c && x.seed === seed);
          return m ? metric.value(m) : null;
        }),
      })),
      valueLabels: false,
      // The default width fits the arms' names side by side; a fixed one ran them upwards over the plot.
      height: 300,
    }).image
  );
  return grid(charts, 2, 8);
}

/**
 * What the verdicts allow one to say, from their values only: the arms' comparison means something only where the
 * base model is measurably fooled by art beyond the blank canvas.
 */
export function readingOf(checked: readonly Verdict[]): string {
  const pre = checked.filter((v) => v.claim.startsWith("precondition:"));
  const failed = pre.filter((v) => v.holds === false).length;
  const unjudged = pre.filter((v) => v.holds === null).length;
  if (failed > 0) {
    return `The precondition does not hold (${failed} of ${pre.length} checks fail${
      unjudged ? `, ${unjudged} cannot be judged` : ""
    }): pasted art does not fool this base model clearly beyond a blank canvas, so the arms below cannot show a ` +
      "cure of being fooled; read their rows as what each recipe does to this model, not as the study's answer.";
  }
  if (unjudged > 0) {
    return `The precondition cannot be fully judged (${unjudged} of ${pre.length} checks lack numbers): read the ` +
      "arms with that in mind.";
  }
  return "The precondition holds: pasted art fools this base model clearly beyond a blank canvas, so the arms " +
    "below test whether each recipe cures it.";
}

export function studyMarkdown(
  result: ExperimentResult,
  files: { figure: string; sheet: string | null; command: string },
): string {
  const t = armTable(result);
  const lines: string[] = [];
  const s = result.settings as Record<string, unknown>;
  lines.push(
    "# The study: does fine-tuning on pasted flat content cure a depth model of seeing depth in it?",
    "",
  );
  lines.push(
    `Regenerated by one command: \`${files.command}\`. Every number below is from that run: ${result.models.length} models ` +
      `(the base and ${result.runs.length} fine-tunes), evaluated on held-out scenes only, ${
        (result.seconds / 60).toFixed(1)
      } min.`,
    "",
  );
  lines.push("## Setup", "");
  lines.push(
    `- Base model: \`${
      shown(s.base as string)
    }\`; every arm fine-tunes it for ${s.steps} steps of batch ${s.batch} at ${s.inputSize} px, lr ${s.lr} (decoder 10×), seeds ${
      (s.seeds as number[]).join(", ")
    }; the last checkpoint of each run is evaluated (nothing is selected on held-out data).`,
  );
  for (const arm of result.arms) {
    lines.push(
      `- **${arm.name}**: ${arm.description} (recipe \`${arm.recipe.name}\`, freeze ${arm.freeze.kind}).`,
    );
  }
  lines.push(
    `- Held-out scenes: \`${
      shown((s.heldOut as { root: string }).root)
    }\`, never seen in training; augmented once with a recipe neither arm uses (seed ${s.heldOutSeed}: a mirror or picture of any shape over 10–35 % of every frame, bordered negatives on half), and evaluated clean as well. The probe pastes other held-out frames at ${
      (s.probeSizes as number[]).map((x) => pct(x)).join(", ")
    } of the frame, against a blank canvas pasted the same way.`,
    "",
  );
  lines.push("## Results", "");
  lines.push(
    `Arms: mean ± sd (min–max) over ${
      plural([...new Set(result.runs.map((r) => r.seed))].length, "seed")
    }. ` +
      "↓ lower is better, ↑ higher.",
    "",
  );
  lines.push(`| metric | base | ${result.arms.map((a) => a.name).join(" | ")} |`);
  lines.push(`|---|---|${result.arms.map(() => "---").join("|")}|`);
  for (const metric of METRICS) {
    const row = t[metric.key];
    const baseText = metric.percent ? pct(row.base) : num(row.base);
    lines.push(
      `| ${metric.label} ${metric.higherIsBetter ? "↑" : "↓"} | ${baseText} | ${
        result.arms.map((a) => cell(metric, row.arms[a.name])).join(" | ")
      } |`,
    );
  }
  const base = result.models.find((m) => m.arm === null)!;
  lines.push(
    "",
    `Judged on the held-out frames: ${base.augmented.flat.pasted} pasted regions and ${base.augmented.flat.negatives} ` +
      `bordered negatives (augmented), ${base.clean.flat.negatives} real openings with depth behind them (clean), ` +
      `${base.probe.criteria?.large.pairs ?? 0} large and ${
        base.probe.criteria?.small.pairs ?? 0
      } small art/blank pose pairs (probe).`,
  );
  const checked = verdicts(result);
  lines.push("", "## The hypotheses, checked", "", readingOf(checked), "");
  for (const v of checked) {
    const word = v.holds === null ? "cannot be judged" : v.holds ? "holds" : "does not hold";
    lines.push(`- ${v.claim}: **${word}** (${v.numbers}).`);
  }
  lines.push("", "## Figures", "", `![every seed's value per metric](${files.figure})`, "");
  if (files.sheet) {
    lines.push(
      `The same held-out regions across models (worst regions first):`,
      "",
      `![contact sheet](${files.sheet})`,
      "",
    );
  }
  lines.push(
    "## Training runs",
    "",
    "| arm | seed | steps | ms/step | first loss | last loss |",
    "|---|---|---|---|---|---|",
  );
  for (const r of result.runs) {
    lines.push(
      `| ${r.arm} | ${r.seed} | ${r.training.steps} | ${r.training.meanStepMs.toFixed(0)} | ${
        num(r.training.firstLoss, 3)
      } | ${num(r.training.lastLoss, 3)} |`,
    );
  }
  lines.push("");
  return lines.join("\n");
}
