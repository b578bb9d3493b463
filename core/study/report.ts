/**
 * The words and tables of a study run (core/study/study.ts): one-line summaries of a training run, an
 * evaluation and a probe, and report.md.
 */
import { relative } from "node:path";
import type { ProbeSummary } from "../eval/probe.ts";
import { num, pct, signed } from "../eval/report.ts";
import type { ModelEntry } from "../eval/run.ts";
import type { TrainResult } from "../train/trainer.ts";
import { TROMPE_VERSION } from "../version.ts";
import { SMALL_MODEL } from "./small_model.ts";
import type { StudyFacts } from "./study.ts";

export function trainingLine(r: TrainResult): string {
  const losses = r.losses.map((l) => l.loss).filter(Number.isFinite);
  const head = losses.slice(0, Math.max(1, Math.floor(losses.length / 5)));
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 5)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const val = r.validations[r.validations.length - 1]?.metrics;
  return `${r.steps} steps at ${r.meanStepMs.toFixed(0)} ms: SiLog loss ${num(mean(head), 3)} → ${
    num(mean(tail), 3)
  } (first and last fifth), val abs_rel ${num(val?.abs_rel)}`;
}

export function evalLine(m: ModelEntry): string {
  return `${m.name}: abs_rel ${num(m.official.mean?.abs_rel)}, d1 ${num(m.official.mean?.d1)}, fooled ${
    pct(m.flat.fooledRate)
  } of ${m.flat.pasted} pasted regions, false-flat ${pct(m.flat.falseFlatRate)}`;
}

/** Fooled rate at each size on the blank control and on the deepest-looking art, which should fool most. */
export function probeLine(p: ProbeSummary): string {
  const rates = (level: number) =>
    p.cells.filter((c) => c.level === level).map((c) => `${pct(c.fooledRate)} at ${pct(c.size)}`).join(", ");
  const deepest = p.levels[p.levels.length - 1];
  return `fooled by the blank ${rates(0)}; by ${deepest.name} ${rates(deepest.index)}`;
}

/** The rows of the before/after table: what fine-tuning should lower, what it must not lose. */
const ROWS: {
  label: string;
  value: (m: ModelEntry) => number | null | undefined;
  higher: boolean;
  percent?: boolean;
}[] = [
  { label: "fooled rate of pasted regions ↓", value: (m) => m.flat.fooledRate, higher: false, percent: true },
  { label: "mean flatness error ↓", value: (m) => m.flat.meanFlatnessError, higher: false },
  { label: "pasted-region abs_rel ↓", value: (m) => m.flat.meanAbsRel, higher: false },
  {
    label: "false-flat rate of negatives ↓",
    value: (m) => m.flat.falseFlatRate,
    higher: false,
    percent: true,
  },
  { label: "background abs_rel ↓", value: (m) => m.background.mean?.abs_rel, higher: false },
  { label: "background d1 ↑", value: (m) => m.background.mean?.d1, higher: true },
  { label: "abs_rel (whole frame) ↓", value: (m) => m.official.mean?.abs_rel, higher: false },
  { label: "d1 (whole frame) ↑", value: (m) => m.official.mean?.d1, higher: true },
];

/** report.md of a study run: the before/after table, figures, probe table, stages and provenance. */
export function studyReport(f: StudyFacts): string {
  const rel = (p: string) => relative(f.out, p) || ".";
  const [start, tuned] = f.after.models;
  const show = (v: number | null | undefined, percent?: boolean) => (percent ? pct(v) : num(v));
  const out: string[] = [];
  out.push(`# trompe demo${f.quick ? " (quick)" : ""}`, "");
  out.push(
    `The whole study on ${f.fixtures.frames} procedural Hypersim-format frames (${f.fixtures.scenes} scenes: ` +
      `${f.fixtures.train} train, ${f.fixtures.val} val) in ${
        f.totalSeconds.toFixed(0)
      } s. trompe ${TROMPE_VERSION}.`,
    "",
    "```",
    ...f.gpu,
    "```",
    "",
    "## Before and after fine-tuning",
    "",
    `Both models on the ${f.after.images.evaluated} augmented validation frames (scenes neither model was ` +
      `trained on; ${
        f.after.models[0].flat.pasted
      } pasted regions), input size ${f.inputSize}. A pasted region fools a model when the ` +
      `flatness error of its predicted inverse depth exceeds ${f.after.threshold}.`,
    "",
    `| | ${start.name} | ${tuned.name} | change |`,
    "|---|---:|---:|---:|",
  );
  for (const row of ROWS) {
    const a = row.value(start), b = row.value(tuned);
    const change = typeof a === "number" && typeof b === "number" ? b - a : null;
    out.push(
      `| ${row.label} | ${show(a, row.percent)} | ${show(b, row.percent)} | ${
        signed(change, row.higher, row.percent)
      } |`,
    );
  }
  out.push(
    "",
    `Pasted regions: ${start.flat.pasted}; judged negatives: ${start.flat.negatives}. The full evaluation, with ` +
      `every metric and the per-frame numbers, is [eval/report.md](eval/report.md).`,
    "",
    "![metrics of both models](eval/charts/metrics.png)",
    "",
  );
  const charts = f.after.files.charts.filter((c) => !c.endsWith("metrics.png"));
  for (const chart of charts) out.push(`![${chart}](eval/${chart})`, "");
  if (f.after.files.sheet) {
    out.push(
      "Worst regions (RGB, ground truth, each model's depth, error):",
      "",
      `![worst regions](eval/${f.after.files.sheet})`,
      "",
    );
  }
  out.push(
    "## Probe: fooled rate against pasted area",
    "",
    "Frames of other scenes pasted as pictures into the validation scenes at growing area, in two levels of " +
      "the pictures' own depth range, against a blank canvas pasted the same way (the control: what it scores " +
      "is the model's own non-flatness there; deno task probe). Fooled rate (mean flatness error) per size:",
    "",
    `| model | pictures | ${f.probes[0].sizes.map((size) => pct(size)).join(" | ")} |`,
    `|---|---|${f.probes[0].sizes.map(() => "---:|").join("")}`,
  );
  for (const p of f.probes) {
    for (const level of p.levels) {
      const cells = p.cells.filter((c) => c.level === level.index);
      out.push(
        `| ${p.model} | ${level.name} | ${
          cells.map((c) => `${pct(c.fooledRate)} (${num(c.meanFlatnessError, 3)})`).join(" | ")
        } |`,
      );
    }
  }
  out.push(
    "",
    "Where the blank canvas scores as high as the art, the model's non-flatness over the region is its own " +
      "(its prior over the scene's shape), not something the picture shows it; only the art's excess over the " +
      "blank is the picture fooling the model.",
    "",
  );
  for (const [p, folder] of [[f.probes[0], "probe_start"], [f.probes[1], "probe_finetuned"]] as const) {
    out.push(
      `${p.model}: [${folder}/report.md](${folder}/report.md)`,
      "",
      `![probe of ${p.model}](${folder}/probe.png)`,
      "",
    );
  }
  out.push("## Stages", "", "| stage | seconds |", "|---|---:|");
  for (const s of f.stages) out.push(`| ${s.name} | ${s.seconds.toFixed(1)} |`);
  out.push(`| total | ${f.totalSeconds.toFixed(1)} |`, "");
  out.push(
    f.pretrain
      ? `Starting model: a small Depth Anything V2 (ViT ${SMALL_MODEL.embedDim}-wide, ${SMALL_MODEL.depth} blocks) ` +
        `trained from scratch on the clean scenes: ${trainingLine(f.pretrain)}; loss curve ` +
        `[start/loss_curve.png](start/loss_curve.png), checkpoint \`${rel(f.startWeights)}\`.`
      : `Starting model: \`${f.startWeights}\`.`,
    "",
    `Augmentation: ${f.augmented} frames with the trompe preset (art pasted from other frames) → ` +
      "[augmented/](augmented/).",
    "",
    `Before fine-tuning: [eval_before/report.md](eval_before/report.md) — ${evalLine(f.before.models[0])}.`,
    "",
    `Fine-tuning: ${
      trainingLine(f.finetune)
    }; loss curve [finetune/loss_curve.png](finetune/loss_curve.png).`,
    "",
  );
  return out.join("\n");
}
