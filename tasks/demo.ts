/**
 * `deno task demo`: the study's experiment in minutes on a CPU, from the committed base model
 * (fixtures/study_base): study-style scenes to fine-tune on and held-out scenes never trained on, each arm a
 * short fine-tune from the base, every model judged on the held-out scenes, and the write-up (study.md) saying
 * what this run shows. The experiment is core/study/experiment.ts, the one `deno task study` runs at full size;
 * this file makes the scenes, reads the flags and prints.
 */
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ADAPTER_FLAG, badFlag, floatFlag, intFlag, parseFlags, stringFlags } from "../core/cli/flags.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { adapterLines, matmulLine, matmulSpeed } from "../core/cli/gpu_info.ts";
import { runTask } from "../core/cli/main.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { writeHypersimFixtures } from "../core/data/fixtures/write.ts";
import { getGpu } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { runExperiment, STUDY_DEFAULTS, studyArms } from "../core/study/experiment.ts";
import { verdicts } from "../core/study/experiment_report.ts";
import { writeExperiment } from "../core/study/experiment_write.ts";
import { plural } from "../core/plural.ts";

/** The committed base model: the demo's default starting point. */
const BASE = fileURLToPath(new URL("../fixtures/study_base/base.safetensors", import.meta.url));

/** What a run writes under --out, each replaced by the next run. */
const FOLDERS = [
  "scenes",
  "heldout_augmented",
  "train_augmented",
  "arms",
  "eval_augmented",
  "eval_clean",
  "probe",
];

const SIZES = {
  full: {
    frames: 24,
    heldOut: 12,
    steps: 16,
    probeSizes: [0.02, 0.3],
    arms: ["seed", "trompe", "trompe-frozen"],
  },
  quick: { frames: 12, heldOut: 6, steps: 4, probeSizes: [0.3], arms: ["seed", "trompe"] },
};

const HELP = `deno task demo [--out DIR] [--quick] [--weights FILE] [options]

The study's experiment in minutes on a CPU (deno task study runs it at full size):
  1. prints the WebGPU adapter and a matmul speed (as deno task info);
  2. renders study-style Hypersim scenes with exact depth: some to fine-tune on, others held out
     (deno task fixtures --style study --part train | heldout; the held-out ones carry opening masks);
  3. fine-tunes the base model briefly in each arm — seed (the original study's recipe), trompe (the trompe
     preset), trompe-frozen (the same, encoder frozen) — on the training scenes augmented by that recipe;
  4. evaluates the base and every fine-tune on the held-out scenes: augmented with a recipe no arm uses,
     clean (false-flat rate on real openings), and probed (other held-out frames pasted as wall paintings,
     against a blank canvas in the same poses);
  5. writes study.md: the table, the hypotheses checked against this run's numbers, the figures.
The arms are short here: the write-up says what this run shows, which at this size may be nothing.

  --weights FILE       the base model (default: the committed fixtures/study_base/base.safetensors)
  --out DIR            where everything goes (default out/demo); the demo's own subfolders are replaced
  --quick              a reduced run: fewer scenes and steps, arms seed and trompe
  --frames N           training frames (default ${SIZES.full.frames}; quick ${SIZES.quick.frames})
  --held-out N         held-out frames (default ${SIZES.full.heldOut}; quick ${SIZES.quick.heldOut})
  --steps N            fine-tuning steps per arm (default ${SIZES.full.steps}; quick ${SIZES.quick.steps})
  --batch N            batch size (default 2)
  --lr X               encoder learning rate, decoder ×10 (default ${STUDY_DEFAULTS.lr})
  --input-size N       training crop and evaluation input, a multiple of 14 (default ${STUDY_DEFAULTS.inputSize},
                       the base model's)
  --seed N             seed for the scenes and the arms (default 1)
  --debug              print stack traces
  --help               this text

Writes into --out: study.md, study.png, study_sheet.png, study.json, demo.run.json, scenes/{train,heldout}/,
and the experiment's folders (train_augmented/, arms/, heldout_augmented/, eval_augmented/, eval_clean/,
probe/).`;

async function main(): Promise<void> {
  const values = parseFlags("demo", {
    args: Deno.args,
    options: {
      weights: { type: "string" },
      ...OUTPUT_FLAGS,
      quick: { type: "boolean", default: false },
      ...stringFlags("frames", "held-out", "steps", "batch", "input-size", "lr", "seed"),
      ...ADAPTER_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const size = values.quick ? SIZES.quick : SIZES.full;
  const out = outFlag(values.out, { fallback: "out/demo" });
  const base = resolve(values.weights ?? BASE);
  const frames = intFlag(values.frames, "--frames", size.frames, 4);
  const heldOutFrames = intFlag(values["held-out"], "--held-out", size.heldOut, 2);
  const steps = intFlag(values.steps, "--steps", size.steps, 1);
  const batch = intFlag(values.batch, "--batch", 2, 1);
  const inputSize = intFlag(values["input-size"], "--input-size", STUDY_DEFAULTS.inputSize, 14);
  if (inputSize % 14 !== 0) badFlag("--input-size", `${inputSize} is not a multiple of the patch size 14`);
  const lr = floatFlag(values.lr, "--lr", STUDY_DEFAULTS.lr)!;
  if (!(lr > 0)) badFlag("--lr", "must be positive");
  const seed = intFlag(values.seed, "--seed", 1);
  try {
    await Deno.stat(base);
  } catch {
    badFlag("--weights", `${base} does not exist`);
  }

  const started = performance.now();
  const ctx = await getGpu();
  const rt = new Runtime(ctx);
  const speed = await matmulSpeed(rt, values.quick ? 256 : 512);
  for (const line of [...adapterLines(ctx), matmulLine(speed)]) console.log(line);

  for (const folder of FOLDERS) await Deno.remove(join(out, folder), { recursive: true }).catch(() => {});
  console.log("\n== scenes");
  const scenes = { train: join(out, "scenes", "train"), heldOut: join(out, "scenes", "heldout") };
  for (
    const [part, root, count] of [["train", scenes.train, frames], [
      "heldout",
      scenes.heldOut,
      heldOutFrames,
    ]] as const
  ) {
    const s = await writeHypersimFixtures(root, {
      count,
      width: 256,
      height: 192,
      seed,
      framesPerScene: 4,
      style: "study",
      part,
    });
    console.log(`   ${part}: ${plural(s.frames, "frame")} in ${plural(s.scenes, "scene")} → ${root}`);
  }

  console.log(`\n== the experiment: arms ${size.arms.join(", ")} from ${base}`);
  const result = await runExperiment({
    out,
    base,
    train: {
      root: scenes.train,
      split: join(scenes.train, "splits", "train.txt"),
      valSplit: join(scenes.train, "splits", "val.txt"),
    },
    heldOut: { root: scenes.heldOut, split: join(scenes.heldOut, "splits", "val.txt") },
    seeds: [seed],
    arms: studyArms().map((a) => a.name).filter((a) => size.arms.includes(a)),
    steps,
    batch,
    lr,
    inputSize,
    probeSizes: size.probeSizes,
    probeRepeats: 1,
    log: (line) => console.log(`   ${line}`),
  }, rt);
  const command = `deno task demo ${Deno.args.filter((a) => a !== "--debug").join(" ")}`.trim();
  const files = await writeExperiment(result, { out, docs: out, command });

  const seconds = (performance.now() - started) / 1000;
  const checked = verdicts(result);
  const record = await writeRunRecord(out, {
    task: "demo",
    inputs: { base },
    settings: { ...result.settings, frames, heldOutFrames, quick: values.quick, matmul: speed },
    results: { verdicts: checked },
    timings: { total: seconds },
  });
  console.log("");
  for (const v of checked) {
    console.log(`${v.holds === null ? "?" : v.holds ? "✓" : "✗"} ${v.claim} (${v.numbers})`);
  }
  console.log(`\ndemo done in ${seconds.toFixed(0)} s\nreport: ${files.markdown}\nrun record: ${record}`);
}

if (import.meta.main) await runTask(main);
