/**
 * The study's experiment (issue: the study's result): one base model, fine-tuned for the same number of steps
 * in several arms — the original study's recipe, trompe's, trompe's with the encoder frozen — each with
 * several seeds, then every model evaluated on held-out scenes only: held-out frames augmented with a neutral
 * recipe (pasted mirrors and art of every shape, bordered negatives), the same frames clean, and probed with
 * other held-out frames as wall paintings against a blank canvas. Nothing here looks at the held-out scenes
 * before every model is trained, and nothing is chosen by them: each fine-tune's last checkpoint is the one
 * evaluated.
 *
 * Each stage is one core call; this file chains them, keeps their numbers, and hands them to
 * experiment_report.ts. It prints nothing: progress goes through `log`.
 */
import { join } from "node:path";
import { preset } from "../augment/presets.ts";
import { parseRecipe, type Recipe } from "../augment/recipe.ts";
import { runAugment } from "../augment/runner.ts";
import { listWithSplit } from "../augment/split.ts";
import { TrompeError } from "../errors.ts";
import { type DepthEstimator, remembering } from "../nn/estimator.ts";
import { openEstimator } from "../nn/open_estimator.ts";
import { type ProbeSummary, runProbe } from "../eval/probe.ts";
import { loadArt } from "../eval/probe_art.ts";
import { type EvalSummary, type ModelEntry, runEvaluation } from "../eval/run.ts";
import type { Runtime } from "../gpu/runtime.ts";
import type { FreezePolicy } from "../train/freeze.ts";
import { runTraining, type TrainResult } from "../train/trainer.ts";
import { TROMPE_VERSION } from "../version.ts";

/** One arm of the experiment: a recipe of pasted content and which layers train. */
export interface StudyArm {
  /** Short name, used in tables and folder names. */
  readonly name: string;
  readonly recipe: Recipe;
  readonly freeze: FreezePolicy;
  readonly description: string;
}

/** Pasted content for every arm comes from other training frames (the held-out side never feeds training). */
function datasetArt(recipe: Recipe, name: string): Recipe {
  return parseRecipe({ ...recipe, name, art: { ...recipe.art, source: "dataset" } }, `study recipe ${name}`);
}

/**
 * The arms. The seed arm is the original study's Hypersim recipe as its notes give it: mirrors (16,475
 * frames) and art (13,209 frames) in that proportion, always-bordered quadrilaterals, the deepest-corner
 * gradient, large regions.
 */
export function studyArms(): StudyArm[] {
  const seedArt = preset("seed-hypersim-art");
  const seed = datasetArt({ ...seedArt, kinds: { mirror: 16475, art: 13209 } }, "seed-hypersim");
  const trompe = datasetArt(preset("trompe"), "trompe");
  return [
    { name: "seed", recipe: seed, freeze: { kind: "none" }, description: "the original study's recipe" },
    { name: "trompe", recipe: trompe, freeze: { kind: "none" }, description: "the trompe preset" },
    {
      name: "trompe-frozen",
      recipe: trompe,
      freeze: { kind: "encoder" },
      description: "the trompe preset, encoder frozen",
    },
  ];
}

/**
 * The held-out augmented frames: neither arm's recipe, so neither is measured on its own distribution —
 * every frame gets a mirror or a picture of any shape, bordered or not, over 10–35 % of the frame (large
 * enough to fool, as the seed found), and half get a bordered negative around real depth.
 */
export function heldOutRecipe(): Recipe {
  const trompe = preset("trompe");
  return datasetArt(
    parseRecipe({
      ...trompe,
      clean: 0,
      negatives: 0.5,
      area: [0.1, 0.35],
      shapes: { quad: 0.5, ellipse: 0.15, roundrect: 0.2, polygon: 0.15 },
    }, "held-out recipe"),
    "held-out",
  );
}

/**
 * The experiment's defaults: the committed base model's own input size (fixtures/study_base, trained at 112 px);
 * a fine-tuning lr a quarter of the base's peak (2e-4), as fine-tuning goes well below pre-training (the official
 * 5e-6 for a pretrained ViT-L); probe sizes from a rarely fooling 2 % to the seed's large pastes.
 */
export const STUDY_DEFAULTS = {
  steps: 200,
  batch: 4,
  lr: 5e-5,
  inputSize: 112,
  probeSizes: [0.02, 0.1, 0.2, 0.35],
  probeRepeats: 2,
} as const;

/** The seed the held-out set is augmented with: fixed, and distinct from any arm seed a user would give. */
export const HELD_OUT_SEED = 7919;

/** The study's experiment: base model, training and held-out scenes, arms, seeds and steps. */
export interface ExperimentOptions {
  readonly out: string;
  /** The base checkpoint every arm starts from (safetensors with trompe's metadata). */
  readonly base: string;
  /** Clean training scenes (Hypersim layout) and their split files. */
  readonly train: { readonly root: string; readonly split: string; readonly valSplit: string };
  /** Clean held-out scenes (Hypersim layout, disjoint scenes) and the frames of them to use. */
  readonly heldOut: { readonly root: string; readonly split: string };
  readonly seeds: readonly number[];
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly inputSize: number;
  readonly probeSizes: readonly number[];
  readonly probeRepeats: number;
  /** Only these arms (by name); default all. */
  readonly arms?: readonly string[];
  readonly log: (line: string) => void;
}

export interface ArmRun {
  readonly arm: string;
  readonly seed: number;
  readonly checkpoint: string;
  readonly training: Pick<TrainResult, "steps" | "meanStepMs" | "stopped"> & {
    firstLoss: number;
    lastLoss: number;
  };
}

/** One model's numbers on the held-out scenes. */
export interface ModelResult {
  readonly name: string;
  readonly arm: string | null;
  readonly seed: number | null;
  readonly checkpoint: string;
  readonly augmented: ModelEntry;
  readonly clean: ModelEntry;
  readonly probe: ProbeSummary;
}

/** The experiment's runs and every model's held-out results, what `writeExperiment` writes up. */
export interface ExperimentResult {
  readonly arms: readonly StudyArm[];
  readonly runs: readonly ArmRun[];
  readonly models: readonly ModelResult[];
  readonly heldOut: { readonly augmented: EvalSummary; readonly clean: EvalSummary };
  readonly settings: Record<string, unknown>;
  readonly seconds: number;
}

/**
 * Fine-tunes the base model in each arm and seed, and judges every model on held-out scenes (what `deno task
 * study` runs).
 */
export async function runExperiment(o: ExperimentOptions, rt: Runtime): Promise<ExperimentResult> {
  const started = performance.now();
  const arms = studyArms().filter((a) => !o.arms || o.arms.includes(a.name));
  if (arms.length === 0) {
    throw new TrompeError("bad-argument", `no such arm among ${studyArms().map((a) => a.name).join(", ")}`, {
      subject: "--arms",
    });
  }
  const progress = { interval: 30 };

  // 1. The held-out augmented set (made once, the same for every model).
  const heldOutAugmented = join(o.out, "heldout_augmented");
  await augmentSet(o.heldOut.root, heldOutAugmented, heldOutRecipe(), HELD_OUT_SEED, {
    train: null,
    val: o.heldOut.split,
  }, o.log);

  // 2. The arms: one augmented training set per (recipe, seed), shared by arms that differ only in freezing.
  const runs: ArmRun[] = [];
  const sets = new Map<string, string>();
  for (const arm of arms) {
    for (const seed of o.seeds) {
      const key = `${arm.recipe.name}-s${seed}`;
      let root = sets.get(key);
      if (!root) {
        root = join(o.out, "train_augmented", key);
        await augmentSet(o.train.root, root, arm.recipe, seed, {
          train: o.train.split,
          val: o.train.valSplit,
        }, o.log);
        sets.set(key, root);
      }
      const folder = join(o.out, "arms", `${arm.name}-s${seed}`);
      const result = await runTraining({
        weights: o.base,
        dataset: "hypersim",
        root,
        split: join(root, "splits", "train.txt"),
        valSplit: join(root, "splits", "val.txt"),
        out: folder,
        lr: o.lr,
        batch: o.batch,
        imgSize: o.inputSize,
        epochs: 1_000_000,
        maxSteps: o.steps,
        freeze: arm.freeze,
        seed,
        workers: 1,
        runtime: rt,
        log: o.log,
        progress,
      });
      const losses = result.losses.map((l) => l.loss).filter(Number.isFinite);
      runs.push({
        arm: arm.name,
        seed,
        checkpoint: result.files.latestSafetensors,
        training: {
          steps: result.steps,
          meanStepMs: result.meanStepMs,
          stopped: result.stopped,
          firstLoss: losses[0] ?? NaN,
          lastLoss: losses[losses.length - 1] ?? NaN,
        },
      });
      o.log(`${arm.name} seed ${seed}: ${result.steps} steps at ${result.meanStepMs.toFixed(0)} ms`);
    }
  }

  // 3. Every model on the held-out scenes: augmented, clean, probed.
  const entries = [
    { name: "base", arm: null, seed: null, checkpoint: o.base },
    ...runs.map((r) => ({ name: `${r.arm} s${r.seed}`, arm: r.arm, seed: r.seed, checkpoint: r.checkpoint })),
  ];
  const opened: DepthEstimator[] = [];
  try {
    for (const e of entries) {
      const model = await openEstimator(
        { engine: "webgpu", path: e.checkpoint, name: e.name, inputSize: o.inputSize },
        rt,
      );
      opened.push(remembering(model.estimator));
    }
    const sources = entries.map((e) => e.checkpoint);
    const augmented = await runEvaluation({
      dataset: "hypersim",
      root: heldOutAugmented,
      split: join(heldOutAugmented, "splits", "val.txt"),
      out: join(o.out, "eval_augmented"),
      estimators: opened,
      sources,
      sheet: 8,
      progress,
    });
    const clean = await runEvaluation({
      dataset: "hypersim",
      root: o.heldOut.root,
      split: o.heldOut.split,
      out: join(o.out, "eval_clean"),
      estimators: opened,
      sources,
      sheet: 0,
      progress,
    });
    // Other held-out frames as wall paintings, ranked by their own ground-truth depth range.
    const art = await loadArt(o.heldOut.root, opened[0]);
    const models: ModelResult[] = [];
    for (const [i, e] of entries.entries()) {
      const probe = await runProbe({
        dataset: "hypersim",
        root: o.heldOut.root,
        split: o.heldOut.split,
        art,
        estimator: opened[i],
        out: join(o.out, "probe", e.name.replaceAll(" ", "-")),
        sizes: [...o.probeSizes],
        levels: 2,
        repeats: o.probeRepeats,
        seed: HELD_OUT_SEED,
        progress,
      });
      models.push({ ...e, augmented: augmented.models[i], clean: clean.models[i], probe });
      o.log(`${e.name}: evaluated and probed`);
    }
    return {
      arms,
      runs,
      models,
      heldOut: { augmented, clean },
      settings: {
        trompe: TROMPE_VERSION,
        base: o.base,
        train: o.train,
        heldOut: o.heldOut,
        seeds: o.seeds,
        steps: o.steps,
        batch: o.batch,
        lr: o.lr,
        inputSize: o.inputSize,
        probeSizes: o.probeSizes,
        probeRepeats: o.probeRepeats,
        heldOutSeed: HELD_OUT_SEED,
        heldOutRecipe: heldOutRecipe(),
        arms: arms.map((a) => ({ name: a.name, recipe: a.recipe, freeze: a.freeze })),
      },
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const e of opened) e.dispose?.();
  }
}

/**
 * Augments `root` into `out` with its sides given by split files: a null side means none of the frames
 * (the held-out set is all validation), so content is only ever cut from frames of the same side.
 */
async function augmentSet(
  root: string,
  out: string,
  recipe: Recipe,
  seed: number,
  sides: { train: string | null; val: string },
  log: (line: string) => void,
): Promise<void> {
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const spec = sides.train === null
    ? { by: "files" as const, val: sides.val }
    : { by: "files" as const, train: sides.train, val: sides.val };
  const { frames, plan } = await listWithSplit("hypersim", root, spec);
  const summary = await runAugment(
    { dataset: "hypersim", root, out, recipe, seed, frames, split: plan },
    { workers: 1, shard: [1, 1], resume: false, version: TROMPE_VERSION },
  );
  if (summary.completed === 0) throw new TrompeError("corrupt", "no frame was augmented", { subject: out });
  log(`${recipe.name} seed ${seed}: ${summary.completed} frames augmented → ${out}`);
}
