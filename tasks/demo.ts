/**
 * `deno task demo`: the whole study on procedural fixture scenes, in a few minutes on a CPU — make scenes,
 * get a starting model (the given checkpoint, or a small one trained here on the clean scenes so that it has
 * learned depth cues worth fooling), augment the scenes with the trompe preset, evaluate the starting model,
 * fine-tune it briefly on the augmented frames, evaluate both side by side, and write one report. The
 * study itself is core/study/study.ts; this file reads the flags and prints.
 */
import { resolve } from "node:path";
import {
  ADAPTER_FLAG,
  badFlag,
  floatFlag,
  intFlag,
  MODEL_FLAGS,
  modelFlags,
  parseFlags,
} from "../core/cli/flags.ts";
import { adapterLines, matmulLine, matmulSpeed } from "../core/cli/gpu_info.ts";
import { runTask } from "../core/cli/main.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { getGpu } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { FINETUNE_LR, runStudy } from "../core/study/study.ts";

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

async function main(): Promise<void> {
  const values = parseFlags("demo", {
    args: Deno.args,
    options: {
      weights: { type: "string" },
      ...MODEL_FLAGS,
      out: { type: "string" },
      quick: { type: "boolean", default: false },
      frames: { type: "string" },
      "pretrain-steps": { type: "string" },
      steps: { type: "string" },
      "input-size": { type: "string" },
      lr: { type: "string" },
      seed: { type: "string" },
      debug: { type: "boolean", default: false },
      ...ADAPTER_FLAG,
      help: { type: "boolean", default: false },
    },
  }, HELP).values;
  if (values.help) return;
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
  const modelInfo = modelFlags(values);
  if (!weights && (modelInfo.configFile || modelInfo.head || modelInfo.maxDepth !== undefined)) {
    badFlag(
      modelInfo.configFile ? "--config" : modelInfo.head ? "--head" : "--max-depth",
      "applies to --weights only",
    );
  }

  const ctx = await getGpu();
  const rt = new Runtime(ctx);
  const gpuLines = adapterLines(ctx);
  const speed = await matmulSpeed(rt, quick ? 256 : 512);
  for (const line of [...gpuLines, matmulLine(speed)]) console.log(line);

  const result = await runStudy(
    {
      out,
      quick,
      frames,
      weights,
      ...modelInfo,
      pretrainSteps,
      steps,
      inputSize,
      lr,
      seed,
      gpuLines: [...gpuLines.slice(1, 4), matmulLine(speed)],
      facts: { adapter: ctx.adapterName, matmul: speed },
    },
    rt,
    {
      log: (line) => console.log(`   ${line}`),
      onStage: (name) => console.log(`\n== ${name}`),
      onStageDone: (stage) => console.log(`   (${stage.seconds.toFixed(1)} s)`),
    },
  );
  const { facts } = result;
  const record = await writeRunRecord(out, {
    task: "demo",
    inputs: { weights: weights ?? null },
    settings: result.settings,
    results: { before: facts.before.models[0].flat, after: facts.after.models.map((m) => m.flat) },
    timings: Object.fromEntries([...facts.stages.map((s) => [s.name, s.seconds]), [
      "total",
      facts.totalSeconds,
    ]]),
  });
  console.log(
    `\ndemo done in ${facts.totalSeconds.toFixed(0)} s\nreport: ${result.report}\nrun record: ${record}`,
  );
}

if (import.meta.main) await runTask(main);
