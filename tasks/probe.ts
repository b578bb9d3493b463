/**
 * `deno task probe`: pastes art of increasing size and depth range into frames and measures when the model
 * starts seeing depth in it (core/eval/probe.ts).
 */
import { join, resolve } from "node:path";
import { DATASET_FLAGS, datasetChoice } from "../core/cli/dataset_flags.ts";
import {
  ADAPTER_FLAG,
  badFlag,
  floatFlag,
  intFlag,
  parseFlags,
  requireFlag,
  stringFlags,
} from "../core/cli/flags.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { MODEL_SOURCE_FLAGS, modelChoice, modelNames, modelSources } from "../core/cli/model_sources.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { openEstimator } from "../core/nn/open_estimator.ts";
import { DEFAULT_SIZES, type ProbeSummary, runProbe } from "../core/eval/probe.ts";
import { artScores, type ArtSet, openArt, readArtScores, scoreArt } from "../core/eval/probe_art.ts";
import { probeComparison } from "../core/eval/probe_report.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { num, pct } from "../core/eval/report.ts";

const HELP = `deno task probe --weights A [--weights B ...] --root DIR --art DIR [options]
deno task probe --engine onnx --model A.onnx --root DIR --art DIR [options]

Pastes art into frames at increasing sizes and depth-range levels, runs the model on every pasted frame, and
measures each paste with the flat-content metric: the flatness error of the predicted inverse depth over the
pasted region; a paste fools the model when that error exceeds --flat-threshold. Plots the fooled rate and the
mean flatness error against the pasted area, one line per level.

The depth-range axis is the art's own content: each piece is scored by the p95/p5 ratio of its own depth
(ground truth for dataset frames; for pictures, the first model's depth of the picture alone, or an earlier
probe's art_scores.json with --art-scores) and the pieces are split by it into --levels equal groups,
flattest-looking first, the same groups for every model. Pastes use deno task augment's geometry and
compositing. With several models each is probed on the same frames, poses and levels into OUT/NAME/, and
OUT/report.md compares them.

Every paste is compared with a blank canvas pasted in the identical pose (the control). When the art is a
dataset tree its own depth is known, and followsArt measures how far the predicted relief inside the paste
follows the picture's depth (correlation of the two plane-fit residuals); a paste is then fooled when its
flatness error exceeds --flat-threshold and followsArt reaches --follow-threshold. The report states the
study's criteria: at >= 20 % of the frame art's flatness error >= 2x the blank's and its fooled rate >= the
blank's + 30 points; at <= 2 % art fooled rarely (<= 10 %).

  --weights FILE       a checkpoint to probe (.safetensors or .pth); repeat for more models
  --engine E           webgpu (default) | onnx
  --model FILE         with --engine onnx: an ONNX model; repeat for more
  --name NAME          the model's name in the report, for one model (default: the file name)
  --root DIR           the frames to paste into (a Hypersim or vKITTI2 tree)
  --dataset NAME       hypersim (default) | vkitti2
  --split FILE         only the frames this split file lists
  --art DIR            a folder of JPEG/PNG pictures, or a Hypersim/vKITTI2 tree whose frames are pasted
  --art-scores FILE    the pictures' depth ratios from an earlier probe (its art_scores.json): the same
                       levels as that probe, so two runs compare
  --out DIR            where the results go (default out/probe)
  --sizes LIST         pasted areas as shares of the frame (default ${DEFAULT_SIZES.join(",")})
  --levels N           depth-range levels (default 3; the art needs at least N pieces)
  --repeats N          pastes per frame, size and level, each with its own pose and art (default 1)
  --limit N            only the first N frames
  --seed N             seed for poses and art choice (default 0)
  --flat-threshold T   flatness error above which a paste fools the model (default 0.02)
  --follow-threshold F followsArt at or above which a paste follows the picture (default 0.5)
  --input-size N       network input size (default 518)
  --config FILE        model config JSON, for checkpoints that do not record theirs
  --head KIND          metric | relative, for official checkpoints whose name does not say
  --max-depth M        the metric head's max depth; never guessed
  --threads N          wasm threads for --engine onnx (default 1)
${maxPixelsHelp(23)}
  --debug              print stack traces
  --help               this text

Writes probe.jsonl (one line per paste), rejects.jsonl, summary.json, report.md, probe.png (per model),
art_scores.json and probe.run.json into --out. Exit status: 0 done, 1 error, 2 bad argument, 3 done but some frames failed.`;

async function main(): Promise<void> {
  const values = parseFlags("probe", {
    args: Deno.args,
    options: {
      ...MODEL_SOURCE_FLAGS,
      name: { type: "string" },
      ...DATASET_FLAGS,
      ...stringFlags("art", "art-scores"),
      ...OUTPUT_FLAGS,
      ...stringFlags("sizes", "levels", "repeats", "limit", "seed", "flat-threshold", "follow-threshold"),
      ...MAX_PIXELS_FLAG,
      ...ADAPTER_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const choice = modelChoice(values);
  const { engine, paths: modelPaths, inputSize } = choice;
  if (values.name !== undefined && modelPaths.length > 1) {
    badFlag("--name", "names one model; several are named after their files");
  }
  const { dataset, root, split } = datasetChoice(values, {
    dataset: "hypersim",
    root: "the frames to paste into",
  });
  const artDir = resolve(requireFlag(values.art, "--art", "a folder of pictures or a dataset tree"));
  const out = outFlag(values.out, { fallback: "out/probe" });
  const sizes = values.sizes === undefined ? [...DEFAULT_SIZES] : values.sizes.split(",").map((s) => {
    const size = Number(s.trim());
    if (s.trim() === "" || !(size >= 0.001 && size <= 0.9)) {
      badFlag("--sizes", `"${s.trim()}" is not a share of the frame between 0.001 and 0.9`);
    }
    return size;
  });
  const levels = intFlag(values.levels, "--levels", 3, 1);
  const repeats = intFlag(values.repeats, "--repeats", 1, 1);
  const limit = values.limit === undefined ? undefined : intFlag(values.limit, "--limit", 0, 1);
  const seed = intFlag(values.seed, "--seed", 0);
  const threshold = floatFlag(values["flat-threshold"], "--flat-threshold", 0.02)!;
  if (!(threshold > 0)) badFlag("--flat-threshold", "must be positive");
  const followThreshold = floatFlag(values["follow-threshold"], "--follow-threshold", 0.5)!;
  if (!(followThreshold > -1 && followThreshold <= 1)) badFlag("--follow-threshold", "must be in (-1, 1]");
  const names = values.name !== undefined ? [values.name] : modelNames(modelPaths);
  const scores = values["art-scores"] === undefined
    ? undefined
    : await readArtScores(resolve(values["art-scores"]));
  // Before any model is opened or output written: a broken picture is named now, not after the first model.
  const openedArt = await openArt(artDir);
  await prepareOutDir(out);

  const started = performance.now();
  // The art is scored once (ground truth, the scores file, or else the first model), so every model is
  // probed on the same levels.
  let art: ArtSet | undefined;
  const summaries: ProbeSummary[] = [];
  const notes: Record<string, string[]> = {};
  for (const source of modelSources(choice, names)) {
    const { name, path: modelPath } = source;
    const modelOut = modelPaths.length > 1 ? join(out, name) : out;
    const opened = await openEstimator(source);
    try {
      console.log(`${name}: ${modelPath}`);
      for (const note of opened.notes) console.log(`  ${note}`);
      notes[name] = opened.notes;
      if (!art) {
        art = await scoreArt(openedArt, opened.estimator, scores);
        console.log(
          `art: ${art.pieces.length} pieces from ${artDir} (${
            art.kind === "pool" ? "pictures" : `${art.kind} frames`
          }, levels by ${art.scoredBy})`,
        );
        await writeTextFileAtomic(
          join(out, "art_scores.json"),
          JSON.stringify(artScores(art), null, 2) + "\n",
        );
      }
      console.log(
        `probe: ${sizes.length} sizes × ${levels} levels on ${dataset} ${split ?? root} → ${modelOut}`,
      );
      const summary = await runProbe({
        dataset,
        root,
        split,
        art,
        estimator: opened.estimator,
        out: modelOut,
        sizes,
        levels,
        repeats,
        limit,
        seed,
        threshold,
        followThreshold,
      });
      printSummary(summary);
      summaries.push(summary);
    } finally {
      opened.estimator.dispose?.();
    }
  }
  if (summaries.length > 1) await writeTextFileAtomic(join(out, "report.md"), probeComparison(summaries));
  const record = await writeRunRecord(out, {
    task: "probe",
    inputs: { models: modelPaths, engine, dataset, root, split: split ?? null, art: artDir },
    settings: {
      names,
      sizes,
      levels,
      artScoredBy: art!.scoredBy,
      repeats,
      limit: limit ?? null,
      seed,
      threshold,
      followThreshold,
      inputSize,
      notes,
    },
    results: Object.fromEntries(summaries.map((s) => [s.model, {
      frames: s.frames,
      trials: s.trials,
      cells: s.cells,
      criteria: s.criteria ?? null,
    }])),
    timings: { seconds: (performance.now() - started) / 1000 },
    failures: summaries.reduce((n, s) => n + s.frames.failed, 0),
  });
  const failed = summaries.reduce((n, s) => n + s.frames.failed, 0);
  for (const s of summaries) {
    console.log(
      `done: ${s.model}: ${s.trials} pastes on ${s.frames.probed} of ${s.frames.listed} frames` +
        (s.frames.failed ? `, ${s.frames.failed} with failures (see ${s.files.rejects})` : "") +
        `\nreport: ${s.files.report}\nchart: ${s.files.chart}`,
    );
  }
  console.log(
    (summaries.length > 1 ? `comparison: ${join(out, "report.md")}\n` : "") + `run record: ${record}`,
  );
  if (failed > 0) Deno.exitCode = 3;
}

/** Each level's fooled rates and the study's verdict, as the probe's console summary. */
function printSummary(summary: ProbeSummary): void {
  for (const level of summary.levels) {
    const cells = summary.cells.filter((c) => c.level === level.index);
    console.log(
      `  ${level.name}: fooled ${cells.map((c) => `${pct(c.fooledRate)} @ ${pct(c.size)}`).join(", ")}` +
        ` (mean flatness error ${cells.map((c) => num(c.meanFlatnessError, 3)).join(", ")})`,
    );
  }
  const c = summary.criteria;
  if (!c) return;
  const l = c.large;
  console.log(
    `fooled beyond the blank: ${c.fooledBeyondBlank ? "yes" : "no"} (at >= 20 %: art/blank flatness error ` +
      `${num(l.flatnessRatio.value, 3)}x, target 2x; fooled ${pct(l.artFooledRate)} vs blank ` +
      `${pct(l.blankFooledRate)}, target +30 points; small pastes fooled ${pct(c.small.fooledRate.value)}, ` +
      `target <= 10 %; verdict: ${c.verdict})`,
  );
}

if (import.meta.main) await runTask(main);
