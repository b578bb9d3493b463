/**
 * `deno task eval`: models side by side on a Hypersim or vKITTI2 set — official metrics, background, flat
 * content — with a report, figures, the worst-region sheet and point clouds.
 */
import { join } from "node:path";
import { DATASET_FLAGS, datasetChoice } from "../core/cli/dataset_flags.ts";
import {
  ADAPTER_FLAG,
  badFlag,
  floatFlag,
  intFlag,
  parseFlags,
  rangeFlag,
  stringFlags,
} from "../core/cli/flags.ts";
import { MAX_PIXELS_FLAG, maxPixelsHelp } from "../core/cli/max_pixels_flag.ts";
import { runTask } from "../core/cli/main.ts";
import { MODEL_SOURCE_FLAGS, modelChoice, modelNames, modelSources } from "../core/cli/model_sources.ts";
import { prepareOutDir } from "../core/cli/out_dir.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import type { DepthEstimator } from "../core/nn/estimator.ts";
import { num, pct } from "../core/eval/report.ts";
import { runEvaluation } from "../core/eval/run.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { openEstimator } from "../core/nn/open_estimator.ts";

const HELP =
  `deno task eval --weights A [--weights B ...] --dataset hypersim|vkitti2 --root DIR --out DIR [options]
deno task eval --engine onnx --model A.onnx [--model B.onnx ...] --dataset ... --root DIR --out DIR [options]

Runs every model on every frame of a dataset (or a split of it) and compares them: the official metrics as
metric_depth/train.py computes them, and on augmented sets (those with masks/ and manifest.jsonl from
deno task augment) the flat-content metrics — flatness error and fooled rate of pasted mirrors and art, region
abs_rel, false-flat rate on negatives, and the official metrics on the background outside every mask. The first
model is the baseline every other is compared with (pretrained first, fine-tuned after).

  --weights FILE       a checkpoint (.safetensors or .pth); repeat for more models
  --engine E           webgpu (default) | onnx
  --model FILE         with --engine onnx: an ONNX model; repeat for more
  --names LIST         comma-separated model names for the report (default: the file names)
  --dataset NAME       hypersim | vkitti2
  --root DIR           the dataset's (or augmented set's) root folder
  --split FILE         only the frames this split file lists (e.g. DIR/splits/val.txt)
  --out DIR            where the results go
  --input-size N       network input size (default 518)
  --config FILE        model config JSON, for checkpoints that do not record theirs
  --head KIND          metric | relative, for official checkpoints whose name does not say
  --max-depth M        the metric head's max depth (20 Hypersim, 80 vKITTI); never guessed
  --limit N            only the first N frames
  --flat-threshold T   flatness error above which a pasted region fools the model (default 0.02)
  --eval-range MIN,MAX the ground-truth depths counted, in metres (default the dataset's: hypersim
                       0.001,20, vkitti2 0.001,80); metric_depth/train.py counts 0.001 to the model's max_depth
  --sheet N            rows of the worst-region contact sheet (default 12; 0: none)
  --ply N              point clouds for the first N frames (default 0)
  --threads N          wasm threads for --engine onnx (default 1)
${maxPixelsHelp(23)}
  --debug              print stack traces
  --help               this text

Writes per_image.jsonl, rejects.jsonl, summary.json, report.md, charts/*.png, worst_regions.png, ply/ and
eval.run.json into --out. Relative models are aligned to the ground truth by scale and shift in disparity
before the metrics. Exit status: 0 done, 1 error, 2 bad argument, 3 done but some frames failed.`;

async function main(): Promise<void> {
  const values = parseFlags("eval", {
    args: Deno.args,
    options: {
      ...MODEL_SOURCE_FLAGS,
      names: { type: "string" },
      ...DATASET_FLAGS,
      ...OUTPUT_FLAGS,
      ...stringFlags("limit", "flat-threshold", "eval-range", "sheet", "ply"),
      ...MAX_PIXELS_FLAG,
      ...ADAPTER_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const { dataset, root, split } = datasetChoice(values);
  const out = outFlag(values.out, "the output folder");
  const threshold = floatFlag(values["flat-threshold"], "--flat-threshold", 0.02)!;
  if (!(threshold > 0)) badFlag("--flat-threshold", "must be positive");
  const range = rangeFlag(values["eval-range"], "--eval-range");
  const limit = values.limit === undefined ? undefined : intFlag(values.limit, "--limit", 0, 1);
  const sheet = intFlag(values.sheet, "--sheet", 12);
  const ply = intFlag(values.ply, "--ply", 0);

  const choice = modelChoice(values);
  const sources = choice.paths;
  const names = values.names?.split(",").map((n) => n.trim()) ?? modelNames(sources);
  if (names.length !== sources.length || names.some((n) => n === "")) {
    badFlag("--names", `gives ${names.length} names for ${sources.length} models`);
  }
  await prepareOutDir(out);

  const started = performance.now();
  const estimators: DepthEstimator[] = [];
  const models: Record<string, unknown>[] = [];
  try {
    // One runtime for every checkpoint: the models after the first reuse its compiled pipelines.
    const rt = choice.engine === "webgpu" ? await Runtime.create() : undefined;
    for (const source of modelSources(choice, names)) {
      const opened = await openEstimator(source, rt);
      console.log(`${source.name}: ${source.path}`);
      for (const note of opened.notes) console.log(`  ${note}`);
      estimators.push(opened.estimator);
      models.push(
        opened.config
          ? { name: source.name, weights: source.path, config: opened.config, notes: opened.notes }
          : { name: source.name, model: source.path, head: opened.head, notes: opened.notes },
      );
    }

    console.log(
      `eval: ${estimators.length} model${estimators.length > 1 ? "s" : ""} on ${dataset} ${
        split ?? root
      } → ${out}`,
    );
    const summary = await runEvaluation({
      dataset,
      root,
      split,
      out,
      estimators,
      sources,
      threshold,
      range,
      limit,
      sheet,
      ply,
    });
    const { images } = summary;
    for (const m of summary.models) {
      const flat = images.withMask > 0
        ? `, fooled ${pct(m.flat.fooledRate)} of ${m.flat.pasted} regions, background abs_rel ${
          num(m.background.mean?.abs_rel)
        }`
        : "";
      console.log(
        `  ${m.name}: abs_rel ${num(m.official.mean?.abs_rel)}, d1 ${num(m.official.mean?.d1)}${flat}`,
      );
    }
    const record = await writeRunRecord(out, {
      task: "eval",
      inputs: { dataset, root, split: split ?? null, models },
      settings: {
        engine: choice.engine,
        inputSize: choice.inputSize,
        threshold,
        limit: limit ?? null,
        sheet,
        ply,
        range: summary.range,
        rangeSource: summary.rangeSource,
      },
      results: { images },
      timings: { seconds: (performance.now() - started) / 1000 },
      failures: images.failed,
    });
    console.log(
      `done: ${images.evaluated} of ${images.listed} frames evaluated, ${images.failed} failed` +
        (images.failed ? ` (see ${join(out, "rejects.jsonl")})` : "") +
        `\nreport: ${join(out, "report.md")}\nrun record: ${record}`,
    );
    if (images.failed > 0) Deno.exitCode = 3;
  } finally {
    for (const e of estimators) e.dispose?.();
  }
}

if (import.meta.main) await runTask(main);
