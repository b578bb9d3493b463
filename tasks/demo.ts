/**
 * `deno task demo`: the whole study on procedural fixture scenes, in a few minutes on a CPU — make scenes,
 * get a starting model (the given checkpoint, or a small one trained here on the clean scenes so that it has
 * learned depth cues worth fooling), augment the scenes with the trompe preset, evaluate the starting model,
 * fine-tune it briefly on the augmented frames, evaluate both side by side, and write one report.
 */
import { join, relative, resolve } from "node:path";
import { adapterFor } from "../core/augment/datasets.ts";
import { preset } from "../core/augment/presets.ts";
import { parseRecipe } from "../core/augment/recipe.ts";
import { runAugment } from "../core/augment/runner.ts";
import { badFlag, choiceFlag, floatFlag, intFlag, parseFlags } from "../core/cli/flags.ts";
import { adapterLines, matmulLine, matmulSpeed } from "../core/cli/gpu_info.ts";
import { runTask } from "../core/cli/main.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { writeHypersimFixtures } from "../core/data/fixtures/write.ts";
import { TrompeError } from "../core/errors.ts";
import type { DepthEstimator, DepthPrediction } from "../core/eval/estimator.ts";
import { openEstimator } from "../core/eval/open_model.ts";
import { loadArt, type ProbeSummary, runProbe } from "../core/eval/probe.ts";
import { num, pct, signed } from "../core/eval/report.ts";
import { type EvalSummary, type ModelEntry, runEvaluation } from "../core/eval/run.ts";
import { getGpu } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import type { RasterU8 } from "../core/io/raster.ts";
import { saveCheckpoint } from "../core/nn/model/checkpoint.ts";
import { parseConfig } from "../core/nn/model/config.ts";
import { initialWeights } from "../core/nn/model/init_weights.ts";
import { runTraining, type TrainResult } from "../core/train/trainer.ts";
import { TROMPE_VERSION } from "../core/version.ts";

const PRETRAIN_LR = 3e-4;
// Well above the official 5e-6 for ViT-L: the small model is young and the fine-tune is 60 steps, not epochs.
const FINETUNE_LR = 2e-4;

const HELP = `deno task demo [--weights FILE] [--out DIR] [--quick] [options]

Runs the whole study on procedural fixture scenes, in a few minutes on a CPU:
  1. prints the WebGPU adapter and a matmul speed (as deno task info);
  2. renders Hypersim-format scenes with exact depth (deno task fixtures);
  3. takes the starting model: --weights when given (e.g. a released checkpoint), otherwise a small
     Depth Anything V2 trained here from scratch on the clean scenes, so it has learned depth cues to fool;
  4. augments every scene with the trompe preset (mirrors and art from other frames, borders, negatives);
  5. evaluates the starting model on the augmented validation scenes;
  6. fine-tunes it briefly on the augmented training scenes;
  7. evaluates the starting and fine-tuned models side by side (official, background and flat-content
     metrics, charts, worst-region sheet);
  8. probes both (deno task probe: other scenes' frames pasted at growing area, two depth-range levels
     and a blank-canvas control) and writes one report.

  --weights FILE       starting checkpoint (default: train a small one first)
  --config FILE        model config JSON, for a checkpoint that does not record it
  --head KIND          metric | relative, for an official checkpoint whose name does not say
  --max-depth M        the metric head's max depth (Hypersim: 20)
  --out DIR            where everything goes (default out/demo); the demo's own subfolders are replaced
  --quick              a reduced run (fewer scenes and steps), for tests and a first look
  --frames N           scenes' frames (default 36; quick 12)
  --pretrain-steps N   steps training the small starting model (default 150; quick 12)
  --steps N            fine-tuning steps (default 60; quick 6)
  --input-size N       training crop and evaluation input, a multiple of 14 (default 70; 518 with --weights)
  --lr X               fine-tuning encoder learning rate, decoder ×10 (default ${FINETUNE_LR})
  --seed N             seed for scenes, weights, augmentation and training (default 0)
  --debug              print stack traces
  --help               this text

Writes into --out: report.md (the demo's report), demo.json (its numbers), demo.run.json, scenes/,
start/ (the small model's training run, when trained here), augmented/, eval_before/, finetune/, eval/
(the side-by-side evaluation whose figures the report shows), probe_start/ and probe_finetuned/.`;

/** The small starting model: tiny-a's shape with a wider decoder, quick to train on a CPU. */
const SMALL_MODEL = {
  embedDim: 64,
  depth: 4,
  heads: 4,
  mlpRatio: 4,
  features: 32,
  outChannels: [16, 32, 64, 64],
  layers: [0, 1, 2, 3],
  head: "metric",
  maxDepth: 20,
  imgSize: 518,
};
const SCENE_SIZE = { width: 256, height: 192 };
const SUBFOLDERS = [
  "scenes",
  "start",
  "augmented",
  "eval_before",
  "finetune",
  "eval",
  "probe_start",
  "probe_finetuned",
] as const;
const PROBE_SIZES = [0.02, 0.05, 0.1, 0.2, 0.35];

interface Stage {
  readonly name: string;
  readonly seconds: number;
}

/**
 * Predictions remembered by image content: the starting model is evaluated before fine-tuning and again
 * beside the fine-tuned one on the same frames, and need not run twice.
 */
function remembering(estimator: DepthEstimator): DepthEstimator {
  const seen = new Map<string, Promise<DepthPrediction>>();
  const key = (rgb: RasterU8) => {
    let h = 0x811c9dc5;
    for (let i = 0; i < rgb.data.length; i++) h = Math.imul(h ^ rgb.data[i], 0x01000193);
    return `${rgb.width}x${rgb.height}:${h >>> 0}`;
  };
  return {
    name: estimator.name,
    kind: estimator.kind,
    predict(rgb) {
      const k = key(rgb);
      let hit = seen.get(k);
      if (!hit) seen.set(k, hit = estimator.predict(rgb));
      return hit;
    },
    dispose: () => estimator.dispose?.(),
  };
}

async function main(): Promise<void> {
  const values = parseFlags("demo", {
    args: Deno.args,
    options: {
      weights: { type: "string" },
      config: { type: "string" },
      head: { type: "string" },
      "max-depth": { type: "string" },
      out: { type: "string" },
      quick: { type: "boolean", default: false },
      frames: { type: "string" },
      "pretrain-steps": { type: "string" },
      steps: { type: "string" },
      "input-size": { type: "string" },
      lr: { type: "string" },
      seed: { type: "string" },
      debug: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  }).values;
  if (values.help) {
    console.log(HELP);
    return;
  }
  const quick = values.quick;
  const out = resolve(values.out ?? "out/demo");
  const weights = values.weights && resolve(values.weights);
  const frames = intFlag(values.frames, "--frames", quick ? 12 : 36, 6);
  const pretrainSteps = intFlag(values["pretrain-steps"], "--pretrain-steps", quick ? 12 : 150, 1);
  const steps = intFlag(values.steps, "--steps", quick ? 6 : 60, 1);
  const inputSize = intFlag(values["input-size"], "--input-size", weights ? 518 : 70, 14);
  if (inputSize % 14 !== 0) badFlag("--input-size", `${inputSize} is not a multiple of the patch size 14`);
  const lr = floatFlag(values.lr, "--lr", FINETUNE_LR)!;
  if (!(lr > 0)) badFlag("--lr", "must be positive");
  const seed = intFlag(values.seed, "--seed", 0);
  const head = values.head === undefined
    ? undefined
    : choiceFlag(values.head, "--head", ["metric", "relative"] as const);
  const maxDepth = floatFlag(values["max-depth"], "--max-depth");
  if (!weights && (values.config || head || maxDepth !== undefined)) {
    badFlag(values.config ? "--config" : head ? "--head" : "--max-depth", "applies to --weights only");
  }

  const started = performance.now();
  const stages: Stage[] = [];
  const stage = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    console.log(`\n== ${name}`);
    const t = performance.now();
    const result = await work();
    const seconds = (performance.now() - t) / 1000;
    stages.push({ name, seconds });
    console.log(`   (${seconds.toFixed(1)} s)`);
    return result;
  };
  const log = (line: string) => console.log(`   ${line}`);
  const progress = { interval: 15 };

  const ctx = await getGpu();
  const rt = new Runtime(ctx);
  const gpuLines = adapterLines(ctx);
  const speed = await matmulSpeed(rt, quick ? 256 : 512);
  for (const line of [...gpuLines, matmulLine(speed)]) console.log(line);

  for (const sub of SUBFOLDERS) await Deno.remove(join(out, sub), { recursive: true }).catch(() => {});
  const scenes = join(out, "scenes");
  const trainSplit = join(scenes, "splits", "train.txt");
  const valSplit = join(scenes, "splits", "val.txt");

  const fixtures = await stage("scenes", async () => {
    const s = await writeHypersimFixtures(scenes, { count: frames, ...SCENE_SIZE, seed });
    log(`${s.frames} frames in ${s.scenes} scenes (${s.train} train, ${s.val} val) → ${scenes}`);
    return s;
  });

  let startWeights: string;
  let pretrain: TrainResult | null = null;
  if (weights) startWeights = weights;
  else {
    pretrain = await stage("starting model: a small model trained on the clean scenes", async () => {
      const config = parseConfig(SMALL_MODEL, "the demo's small model");
      const init = join(out, "start", "init.safetensors");
      await saveCheckpoint(init, {
        config,
        stateDict: initialWeights(config, seed),
        provenance: { data: "random initialisation", seed },
      });
      const result = await runTraining({
        weights: init,
        dataset: "hypersim",
        root: scenes,
        split: trainSplit,
        valSplit,
        out: join(out, "start"),
        imgSize: inputSize,
        lr: PRETRAIN_LR,
        epochs: 1_000_000,
        maxSteps: pretrainSteps,
        seed,
        workers: 1,
        runtime: rt,
        log,
        progress,
      });
      log(trainingLine(result));
      return result;
    });
    startWeights = pretrain.files.bestSafetensors ?? pretrain.files.latestSafetensors;
  }

  const augmented = join(out, "augmented");
  const augmentation = await stage("augment (trompe preset)", async () => {
    const recipe = parseRecipe(
      { ...preset("trompe"), art: { ...preset("trompe").art, source: "dataset" } },
      "demo",
    );
    const list = (await adapterFor("hypersim").list(scenes)).frames;
    const summary = await runAugment(
      { dataset: "hypersim", root: scenes, out: augmented, recipe, seed, frames: list },
      { workers: 1, shard: [1, 1], resume: false, version: TROMPE_VERSION },
    );
    log(`${summary.completed} frames augmented, ${summary.rejected} rejected → ${augmented}`);
    if (summary.completed === 0) {
      throw new TrompeError("corrupt", "no frame was augmented", { subject: augmented });
    }
    return summary;
  });

  const opened = await openEstimator({
    engine: "webgpu",
    path: startWeights,
    name: "start",
    inputSize,
    configFile: values.config && resolve(values.config),
    head,
    maxDepth,
  }, rt);
  for (const note of opened.notes) log(`start: ${note}`);
  const start = remembering(opened.estimator);
  const evalCommon = { dataset: "hypersim" as const, root: augmented, split: valSplit, progress };
  try {
    const before = await stage("evaluate the starting model", async () => {
      const summary = await runEvaluation({
        ...evalCommon,
        out: join(out, "eval_before"),
        estimators: [start],
        sources: [startWeights],
        sheet: 0,
      });
      log(evalLine(summary.models[0]));
      return summary;
    });

    const finetune = await stage("fine-tune on the augmented scenes", async () => {
      const result = await runTraining({
        weights: startWeights,
        configFile: values.config && resolve(values.config),
        head,
        maxDepth,
        dataset: "hypersim",
        root: augmented,
        split: trainSplit,
        valSplit,
        out: join(out, "finetune"),
        imgSize: inputSize,
        lr,
        epochs: 1_000_000,
        maxSteps: steps,
        seed,
        workers: 1,
        runtime: rt,
        log,
        progress,
      });
      log(trainingLine(result));
      return result;
    });

    const tunedPath = finetune.files.latestSafetensors;
    const tuned = await openEstimator(
      { engine: "webgpu", path: tunedPath, name: "fine-tuned", inputSize },
      rt,
    );
    let after: EvalSummary, probes: ProbeSummary[];
    try {
      after = await stage("evaluate starting and fine-tuned models side by side", async () => {
        const summary = await runEvaluation({
          ...evalCommon,
          out: join(out, "eval"),
          estimators: [start, tuned.estimator],
          sources: [startWeights, tunedPath],
          sheet: 8,
        });
        for (const m of summary.models) log(evalLine(m));
        return summary;
      });
      probes = await stage("probe: fooled rate against pasted area, both models", async () => {
        // Other scenes' frames as wall paintings, ranked by their ground-truth depth range.
        const art = await loadArt(scenes, start);
        const summaries: ProbeSummary[] = [];
        for (
          const [estimator, folder] of [[start, "probe_start"], [tuned.estimator, "probe_finetuned"]] as const
        ) {
          const summary = await runProbe({
            dataset: "hypersim",
            root: scenes,
            split: valSplit,
            art,
            estimator,
            out: join(out, folder),
            sizes: quick ? [0.05, 0.3] : PROBE_SIZES,
            levels: 2,
            seed,
            progress,
          });
          log(`${estimator.name}: ${probeLine(summary)}`);
          summaries.push(summary);
        }
        return summaries;
      });
    } finally {
      tuned.estimator.dispose?.();
    }

    const totalSeconds = (performance.now() - started) / 1000;
    const report = demoReport({
      out,
      quick,
      gpu: [...gpuLines.slice(1, 4), matmulLine(speed)],
      fixtures: {
        frames: fixtures.frames,
        scenes: fixtures.scenes,
        train: fixtures.train,
        val: fixtures.val,
      },
      startWeights,
      pretrain,
      augmented: augmentation.completed,
      before,
      finetune,
      after,
      probes,
      stages,
      totalSeconds,
      inputSize,
    });
    await writeTextFileAtomic(join(out, "report.md"), report);
    const numbers = {
      trompe: TROMPE_VERSION,
      adapter: ctx.adapterName,
      matmul: speed,
      settings: { quick, frames, pretrainSteps: weights ? null : pretrainSteps, steps, inputSize, lr, seed },
      start: startWeights,
      fineTuned: tunedPath,
      before: before.models[0],
      after: after.models,
      probe: probes.map((p) => ({ model: p.model, levels: p.levels, cells: p.cells })),
      stages,
      totalSeconds,
    };
    await writeTextFileAtomic(join(out, "demo.json"), JSON.stringify(numbers, finite, 2) + "\n");
    const record = await writeRunRecord(out, {
      task: "demo",
      inputs: { weights: weights ?? null },
      settings: numbers.settings,
      results: { before: before.models[0].flat, after: after.models.map((m) => m.flat) },
      timings: Object.fromEntries([...stages.map((s) => [s.name, s.seconds]), ["total", totalSeconds]]),
    });
    console.log(
      `\ndemo done in ${totalSeconds.toFixed(0)} s\nreport: ${join(out, "report.md")}\nrun record: ${record}`,
    );
  } finally {
    start.dispose?.();
  }
}

function trainingLine(r: TrainResult): string {
  const losses = r.losses.map((l) => l.loss).filter(Number.isFinite);
  const head = losses.slice(0, Math.max(1, Math.floor(losses.length / 5)));
  const tail = losses.slice(-Math.max(1, Math.floor(losses.length / 5)));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const val = r.validations[r.validations.length - 1]?.metrics;
  return `${r.steps} steps at ${r.meanStepMs.toFixed(0)} ms: SiLog loss ${num(mean(head), 3)} → ${
    num(mean(tail), 3)
  } (first and last fifth), val abs_rel ${num(val?.abs_rel)}`;
}

function evalLine(m: ModelEntry): string {
  return `${m.name}: abs_rel ${num(m.official.mean?.abs_rel)}, d1 ${num(m.official.mean?.d1)}, fooled ${
    pct(m.flat.fooledRate)
  } of ${m.flat.pasted} pasted regions, false-flat ${pct(m.flat.falseFlatRate)}`;
}

/** Fooled rate at each size on the blank control and on the deepest-looking art, which should fool most. */
function probeLine(p: ProbeSummary): string {
  const rates = (level: number) =>
    p.cells.filter((c) => c.level === level).map((c) => `${pct(c.fooledRate)} at ${pct(c.size)}`).join(", ");
  const deepest = p.levels[p.levels.length - 1];
  return `fooled by the blank ${rates(0)}; by ${deepest.name} ${rates(deepest.index)}`;
}

interface DemoFacts {
  readonly out: string;
  readonly quick: boolean;
  readonly gpu: readonly string[];
  readonly fixtures: { frames: number; scenes: number; train: number; val: number };
  readonly startWeights: string;
  readonly pretrain: TrainResult | null;
  readonly augmented: number;
  readonly before: EvalSummary;
  readonly finetune: TrainResult;
  readonly after: EvalSummary;
  readonly probes: readonly ProbeSummary[];
  readonly stages: readonly Stage[];
  readonly totalSeconds: number;
  readonly inputSize: number;
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

function demoReport(f: DemoFacts): string {
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

/** JSON has no NaN or Infinity: write them as null. */
function finite(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

if (import.meta.main) await runTask(main);
