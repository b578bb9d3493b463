/**
 * The whole study in one run, as `deno task demo` drives it: procedural Hypersim-format scenes → a starting
 * model (a given checkpoint, or a small one trained here on the clean scenes) → augmentation with the trompe
 * preset → evaluation → a short fine-tune on the augmented scenes → both models evaluated side by side and
 * probed → report.md and demo.json. Each stage is one core call; this file only chains them and keeps
 * their results. It prints nothing: progress goes through `log` and `onStage`.
 */
import { join } from "node:path";
import { listWithSplit } from "../augment/split.ts";
import { preset } from "../augment/presets.ts";
import { parseRecipe } from "../augment/recipe.ts";
import { runAugment } from "../augment/runner.ts";
import { writeHypersimFixtures } from "../data/fixtures/write.ts";
import { TrompeError } from "../errors.ts";
import { remembering } from "../eval/estimator.ts";
import { openEstimator } from "../eval/open_model.ts";
import { type ProbeSummary, runProbe } from "../eval/probe.ts";
import { loadArt } from "../eval/probe_art.ts";
import { type EvalSummary, runEvaluation } from "../eval/run.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { writeTextFileAtomic } from "../io/atomic.ts";
import { type HeadKind, parseConfig } from "../nn/model/config.ts";
import { saveInitialCheckpoint } from "../nn/model/init_weights.ts";
import { runTraining, type TrainResult } from "../train/trainer.ts";
import { TROMPE_VERSION } from "../version.ts";
import { evalLine, probeLine, studyReport, trainingLine } from "./report.ts";
import { SMALL_MODEL } from "./small_model.ts";
import { jsonText } from "../io/json.ts";

/** Learning rate training the small starting model from scratch. */
export const PRETRAIN_LR = 3e-4;
/** Well above the official 5e-6 for ViT-L: the small model is young and the fine-tune is 60 steps, not epochs. */
export const FINETUNE_LR = 2e-4;

const SCENE_SIZE = { width: 256, height: 192 };
/** What a run writes under `out`, each replaced by the next run. */
export const STUDY_FOLDERS = [
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
const QUICK_PROBE_SIZES = [0.05, 0.3];

export interface StudyOptions {
  readonly out: string;
  /** Fewer probe sizes (the counts below are the caller's). */
  readonly quick: boolean;
  readonly frames: number;
  /** Starting checkpoint; absent: train the small model for `pretrainSteps` first. */
  readonly weights?: string;
  readonly configFile?: string;
  readonly head?: HeadKind;
  readonly maxDepth?: number;
  readonly pretrainSteps: number;
  readonly steps: number;
  readonly inputSize: number;
  readonly lr: number;
  readonly seed: number;
  /** The adapter lines and matmul speed the report opens with. */
  readonly gpuLines: readonly string[];
  /** Extra numbers for demo.json (the adapter, the matmul speed). */
  readonly facts: Record<string, unknown>;
}

export interface StudyHooks {
  readonly log: (line: string) => void;
  /** Called as each stage starts. */
  readonly onStage: (name: string) => void;
  /** Called as each stage ends. */
  readonly onStageDone: (stage: Stage) => void;
}

export interface Stage {
  readonly name: string;
  readonly seconds: number;
}

/** Everything the report says, as the stages left it. */
export interface StudyFacts {
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

export interface StudyResult {
  readonly facts: StudyFacts;
  readonly fineTuned: string;
  readonly report: string;
  readonly numbers: string;
  readonly settings: Record<string, unknown>;
}

export async function runStudy(o: StudyOptions, rt: Runtime, hooks: StudyHooks): Promise<StudyResult> {
  const { out, seed, inputSize } = o;
  const { log } = hooks;
  const started = performance.now();
  const stages: Stage[] = [];
  const stage = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    hooks.onStage(name);
    const t = performance.now();
    const result = await work();
    const done = { name, seconds: (performance.now() - t) / 1000 };
    stages.push(done);
    hooks.onStageDone(done);
    return result;
  };
  const progress = { interval: 15 };
  const training = {
    dataset: "hypersim" as const,
    imgSize: inputSize,
    epochs: 1_000_000,
    seed,
    workers: 1,
    runtime: rt,
    log,
    progress,
  };

  for (const sub of STUDY_FOLDERS) await Deno.remove(join(out, sub), { recursive: true }).catch(() => {});
  const scenes = join(out, "scenes");
  const trainSplit = join(scenes, "splits", "train.txt");
  const valSplit = join(scenes, "splits", "val.txt");

  const fixtures = await stage("scenes", async () => {
    const s = await writeHypersimFixtures(scenes, { count: o.frames, ...SCENE_SIZE, seed });
    log(`${s.frames} frames in ${s.scenes} scenes (${s.train} train, ${s.val} val) → ${scenes}`);
    return s;
  });

  let pretrain: TrainResult | null = null;
  let startWeights = o.weights;
  if (!startWeights) {
    pretrain = await stage("starting model: a small model trained on the clean scenes", async () => {
      const config = parseConfig(SMALL_MODEL, "the demo's small model");
      const init = join(out, "start", "init.safetensors");
      await saveInitialCheckpoint(init, config, seed);
      const result = await runTraining({
        ...training,
        weights: init,
        root: scenes,
        split: trainSplit,
        valSplit,
        out: join(out, "start"),
        lr: PRETRAIN_LR,
        maxSteps: o.pretrainSteps,
      });
      log(trainingLine(result));
      return result;
    });
    startWeights = pretrain.files.bestSafetensors ?? pretrain.files.latestSafetensors;
  }
  const startPath = startWeights;

  const augmented = join(out, "augmented");
  const augmentation = await stage("augment (trompe preset)", async () => {
    const trompe = preset("trompe");
    const recipe = parseRecipe({ ...trompe, art: { ...trompe.art, source: "dataset" } }, "demo");
    // The scenes' own split, kept: art for a training frame is cut from training frames only.
    const { frames: list, plan } = await listWithSplit("hypersim", scenes, {
      by: "files",
      train: trainSplit,
      val: valSplit,
    });
    const summary = await runAugment(
      { dataset: "hypersim", root: scenes, out: augmented, recipe, seed, frames: list, split: plan },
      { workers: 1, shard: [1, 1], resume: false, version: TROMPE_VERSION },
    );
    log(`${summary.completed} frames augmented, ${summary.rejected} rejected → ${augmented}`);
    if (summary.completed === 0) {
      throw new TrompeError("corrupt", "no frame was augmented", { subject: augmented });
    }
    return summary;
  });

  const model = { configFile: o.configFile, head: o.head, maxDepth: o.maxDepth };
  const opened = await openEstimator({
    engine: "webgpu",
    path: startPath,
    name: "start",
    inputSize,
    ...model,
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
        sources: [startPath],
        sheet: 0,
      });
      log(evalLine(summary.models[0]));
      return summary;
    });

    const finetune = await stage("fine-tune on the augmented scenes", async () => {
      const result = await runTraining({
        ...training,
        ...model,
        weights: startPath,
        root: augmented,
        split: trainSplit,
        valSplit,
        out: join(out, "finetune"),
        lr: o.lr,
        maxSteps: o.steps,
      });
      log(trainingLine(result));
      return result;
    });

    const fineTuned = finetune.files.latestSafetensors;
    const tuned = await openEstimator(
      { engine: "webgpu", path: fineTuned, name: "fine-tuned", inputSize },
      rt,
    );
    let after: EvalSummary, probes: ProbeSummary[];
    try {
      after = await stage("evaluate starting and fine-tuned models side by side", async () => {
        const summary = await runEvaluation({
          ...evalCommon,
          out: join(out, "eval"),
          estimators: [start, tuned.estimator],
          sources: [startPath, fineTuned],
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
            sizes: o.quick ? QUICK_PROBE_SIZES : PROBE_SIZES,
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
    const facts: StudyFacts = {
      out,
      quick: o.quick,
      gpu: o.gpuLines,
      fixtures: {
        frames: fixtures.frames,
        scenes: fixtures.scenes,
        train: fixtures.train,
        val: fixtures.val,
      },
      startWeights: startPath,
      pretrain,
      augmented: augmentation.completed,
      before,
      finetune,
      after,
      probes,
      stages,
      totalSeconds,
      inputSize,
    };
    const report = join(out, "report.md");
    await writeTextFileAtomic(report, studyReport(facts));
    const settings = {
      quick: o.quick,
      frames: o.frames,
      pretrainSteps: o.weights ? null : o.pretrainSteps,
      steps: o.steps,
      inputSize,
      lr: o.lr,
      seed,
    };
    const numbers = join(out, "demo.json");
    const json = {
      trompe: TROMPE_VERSION,
      ...o.facts,
      settings,
      start: startPath,
      fineTuned,
      before: before.models[0],
      after: after.models,
      probe: probes.map((p) => ({ model: p.model, levels: p.levels, cells: p.cells })),
      stages,
      totalSeconds,
    };
    await writeTextFileAtomic(numbers, jsonText(json, 2) + "\n");
    return { facts, fineTuned, report, numbers, settings };
  } finally {
    start.dispose?.();
  }
}
