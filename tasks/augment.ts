/**
 * `deno task augment`: paste mirrors and art into a Hypersim or vKITTI2 tree and rewrite its ground truth.
 */
import { resolve } from "node:path";
import { loadRecipe, PRESET_NAMES } from "../core/augment/presets.ts";
import { runAugment } from "../core/augment/runner.ts";
import { listWithSplit, type SplitSpec } from "../core/augment/split.ts";
import { writePreview } from "../core/augment/write_preview.ts";
import { DATASET_FLAGS, datasetChoice } from "../core/cli/dataset_flags.ts";
import { badFlag, intFlag, parseFlags, requireFlag, stringFlags } from "../core/cli/flags.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { Progress } from "../core/cli/progress.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { noFramesError } from "../core/data/scan.ts";
import { TROMPE_VERSION } from "../core/version.ts";
import { plural } from "../core/plural.ts";

const HELP =
  `deno task augment --dataset hypersim|vkitti2 --root DIR --out DIR --recipe PRESET|FILE --seed N [options]

Pastes mirrors and art (with borders and perspective) into a dataset and rewrites the ground truth of the
pasted regions as the flat surfaces they are. The output has the source's layout and formats, plus
masks/<rgb path>.png (0 untouched, 1 mirror, 2 art, 3 negative), manifest.jsonl, rejects.jsonl,
splits/{train,val}.txt and recipe.json. Same inputs, recipe and seed → the same bytes, whatever
--workers and --shard.

The split keeps held-out frames held out: every frame stays on its side of the source's split, and art cut
from dataset frames is drawn only from frames on the same side. With --train-split/--val-split the set is the
frames they list, each on its side; with --split-csv (Hypersim) by the official scene split; with neither, by
whole scenes (Hypersim ai_XXX_YYY, vKITTI2 SceneXX/variation), 20 % in val by a hash of the scene name alone —
the same scenes for every --seed. recipe.json records the rule; a resumed run must use the same one.

  --dataset NAME     hypersim | vkitti2
  --root DIR         the dataset's root folder
  --train-split FILE the source's training frames (Depth Anything V2 split file): they stay in train
  --val-split FILE   the source's validation frames: they stay in val (either flag alone augments that side)
  --split-csv FILE   Hypersim's official metadata_images_split_scene_v1.csv: train and val scenes on their
                     sides, test scenes left out
  --split FILE       only the frames listed in this split file (sides by the rule above)
  --out DIR          where the augmented set goes
  --recipe R         a preset (${PRESET_NAMES.join(", ")}) or a recipe JSON file
                     (any subset of fields; {"extends": "trompe", ...} changes a preset)
  --seed N           integer seed (default 0)
  --art DIR          folder of JPEG/PNG images to paste (recipes whose art source is "pool")
  --workers N        worker threads (default: number of CPUs)
  --shard i/n        do only shard i of n (1-based), e.g. for a cluster array job
  --resume           skip frames already complete in --out (after a kill); the run must have the
                     first run's --dataset, --root, --recipe, --seed, --art and split
  --force            write into a non-empty --out that is not an augmented set
  --limit N          at most N frames
  --preview N        write preview.png, a contact sheet of the first N frames
${maxPixelsHelp(21)}
  --debug            print stack traces
  --help             this text

Writes <out>/augment.run.json (augment.shard-i-of-n.run.json for a shard): inputs, settings, results, timings.
Exit status: 0 done, 1 error, 2 bad argument, 3 done but some frames were rejected (see rejects.jsonl).`;

async function main(): Promise<void> {
  const values = parseFlags("augment", {
    args: Deno.args,
    options: {
      ...DATASET_FLAGS,
      ...stringFlags("train-split", "val-split", "split-csv"),
      ...OUTPUT_FLAGS,
      ...stringFlags("recipe", "seed", "art", "workers"),
      shard: { type: "string", default: "1/1" },
      resume: { type: "boolean", default: false },
      force: { type: "boolean", default: false },
      ...stringFlags("limit", "preview"),
      ...MAX_PIXELS_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  // --split is listed and recorded as given (values.split), so its errors name it as the user wrote it.
  const { dataset, root, split } = datasetChoice(values);
  const out = outFlag(values.out, "where the augmented set goes");
  const recipe = await loadRecipe(
    requireFlag(values.recipe, "--recipe", `a preset (${PRESET_NAMES.join(", ")}) or a file`),
  );
  const seed = intFlag(values.seed, "--seed", 0);
  const workers = intFlag(values.workers, "--workers", navigator.hardwareConcurrency, 1);
  const shardMatch = /^(\d+)\/(\d+)$/.exec(values.shard!);
  const shard = shardMatch ? [Number(shardMatch[1]), Number(shardMatch[2])] as const : null;
  if (!shard || shard[0] < 1 || shard[0] > shard[1]) {
    badFlag("--shard", `"${values.shard}" is not i/n with 1 ≤ i ≤ n`, "e.g. --shard 2/8");
  }
  const limit = values.limit === undefined ? undefined : intFlag(values.limit, "--limit", 0, 1);
  const preview = intFlag(values.preview, "--preview", 0);
  const art = values.art && resolve(values.art);
  // Every art frame would be rejected for the same reason: say it once, before any work.
  if (!art && recipe.kinds.art > 0 && recipe.art.source === "pool") {
    badFlag("--art", `recipe ${recipe.name} pastes pool art`, "pass --art DIR (a folder of JPEG/PNG images)");
  }

  const splitSpec = splitFlags(values["train-split"], values["val-split"], values["split-csv"]);
  const { frames, problems, plan, leftOut } = await listWithSplit(dataset, root, splitSpec, values.split);
  if (frames.length === 0) {
    throw noFramesError(dataset, split || root, problems);
  }
  await prepareOutDir(out, [{ flag: "--root", path: root }, ...(art ? [{ flag: "--art", path: art }] : [])]);
  console.log(
    `augment: ${plural(frames.length, "frame")} in ${root}, recipe ${recipe.name}, seed ${seed}, ` +
      `shard ${shard[0]}/${shard[1]}, ${plural(workers, "worker")}`,
  );
  console.log(`split: ${plan.train} train, ${plan.val} val frames; ${plan.rule}`);
  if (leftOut.length) console.log(`  left out ${plural(leftOut.length, "frame")}: ${leftOut[0].reason}`);
  for (const p of problems) console.log(`  skipped ${p.path}: ${p.problem}`);
  let progress: Progress | undefined;
  const summary = await runAugment(
    { dataset, root, out, recipe, seed, art, frames, split: plan },
    {
      workers,
      shard,
      resume: values.resume!,
      force: values.force!,
      limit,
      version: TROMPE_VERSION,
      onStart: (total) => (progress = new Progress("augment", total, { unit: "frames" })),
      onFrame: (rejected) => progress!.tick(1, rejected),
    },
  );
  console.log(progress!.finish());
  const previewPath = preview > 0 ? await writePreview(dataset, root, out, frames, preview) : undefined;
  // One record per shard, so the shards of an array job do not overwrite each other's.
  const record = await writeRunRecord(out, {
    task: shard[1] === 1 ? "augment" : `augment.shard-${shard[0]}-of-${shard[1]}`,
    inputs: {
      dataset,
      root,
      split: values.split ?? null,
      trainSplit: values["train-split"] ?? null,
      valSplit: values["val-split"] ?? null,
      splitCsv: values["split-csv"] ?? null,
      art: art ?? null,
      frames: frames.length,
    },
    settings: { recipe, seed, workers, shard: `${shard[0]}/${shard[1]}`, resume: values.resume, limit },
    results: {
      processed: summary.processed,
      rejected: summary.rejectedNow,
      skipped: summary.skipped,
      staleTemporariesRemoved: summary.staleRemoved,
      set: {
        completed: summary.completed,
        train: summary.train,
        val: summary.val,
        rejects: summary.rejected,
      },
      split: {
        rule: plan.rule,
        digest: plan.digest,
        train: plan.train,
        val: plan.val,
        leftOut: leftOut.length,
      },
      listingProblems: problems,
      preview: previewPath ?? null,
    },
    timings: { seconds: summary.elapsedS, framesPerSecond: summary.framesPerS },
    failures: summary.rejectedNow,
  });
  console.log(
    `done: ${summary.processed} augmented, ${summary.rejectedNow} rejected, ${summary.skipped} already complete` +
      (summary.staleRemoved ? `, ${summary.staleRemoved} stale temporary files removed` : "") +
      `\nset: ${summary.completed} frames (train ${summary.train}, val ${summary.val}), ${summary.rejected} rejects` +
      (summary.rejected ? ` (see ${resolve(out, "rejects.jsonl")})` : "") +
      (previewPath ? `\npreview: ${previewPath}` : "") +
      `\nrun record: ${record}`,
  );
  if (summary.rejectedNow > 0) Deno.exitCode = 3;
}

/** The split rule the flags ask for (at most one kind of source split). */
function splitFlags(train?: string, val?: string, csv?: string): SplitSpec {
  if (csv !== undefined && (train !== undefined || val !== undefined)) {
    badFlag("--split-csv", "give the split as a CSV or as split files, not both", "drop one of them");
  }
  if (csv !== undefined) return { by: "hypersim-csv", csv: resolve(csv) };
  if (train !== undefined || val !== undefined) {
    return { by: "files", train: train && resolve(train), val: val && resolve(val) };
  }
  return { by: "scene" };
}

if (import.meta.main) await runTask(main);
