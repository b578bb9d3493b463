/**
 * `deno task study`: the study's experiment — one base model fine-tuned in each arm (seed recipe, trompe,
 * trompe with the encoder frozen) for several seeds, every model evaluated on held-out scenes — written up as
 * study.md with its figures. The experiment is core/study/experiment.ts; this file reads flags and prints.
 */
import { join, resolve } from "node:path";
import {
  ADAPTER_FLAG,
  badFlag,
  floatFlag,
  intFlag,
  parseFlags,
  requireFlag,
  stringFlags,
} from "../core/cli/flags.ts";
import { adapterLines } from "../core/cli/gpu_info.ts";
import { runTask } from "../core/cli/main.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { getGpu } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { runExperiment, STUDY_DEFAULTS as D, studyArms } from "../core/study/experiment.ts";
import { verdicts } from "../core/study/experiment_report.ts";
import { writeExperiment } from "../core/study/experiment_write.ts";

const HELP = `deno task study --base FILE --train DIR --held-out DIR --out DIR [options]

The study's experiment: the base checkpoint is fine-tuned for the same number of steps in each arm —
seed (the original study's recipe), trompe (the trompe preset), trompe-frozen (the same, encoder frozen) —
with each seed, then the base and every fine-tune are evaluated on held-out scenes only: augmented with a
recipe no arm uses, clean, and probed (other held-out frames pasted at growing sizes, against a blank
canvas). Writes study.md (the table: mean ± sd (min–max) per arm; the hypotheses, each checked), study.png
(every seed's value per metric), the worst-region contact sheet across models, and study.json.

  --base FILE          the base checkpoint every arm starts from (safetensors)
  --train DIR          clean training scenes (Hypersim layout) with splits/train.txt and splits/val.txt
  --held-out DIR       clean held-out scenes (Hypersim layout; no scene shared with --train)
  --held-out-split F   which held-out frames (default DIR/splits/all.txt if present, else every frame
                       listed in DIR/splits/{train,val}.txt)
  --out DIR            where the runs go (augmented sets, fine-tunes, evaluations, probes)
  --docs DIR           where study.md and its figures go (default: --out)
  --seeds LIST         arm seeds, comma-separated (default 1,2,3)
  --arms LIST          arms to run (default seed,trompe,trompe-frozen)
  --steps N            fine-tuning steps per run (default ${D.steps})
  --batch N            batch size (default ${D.batch})
  --lr X               encoder learning rate, decoder ×10 (default ${D.lr})
  --input-size N       training crop and evaluation input, a multiple of 14 (default ${D.inputSize}, the
                       committed base model's)
  --probe-sizes LIST   pasted shares of the frame (default ${D.probeSizes.join(",")})
  --probe-repeats N    poses per frame and size (default ${D.probeRepeats})
  --debug              print stack traces
  --help               this text`;

function list(text: string | undefined, flag: string, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const values = text.split(",").map((s) => Number(s.trim()));
  if (values.some((v) => !Number.isFinite(v))) {
    badFlag(flag, `expected numbers separated by commas, got "${text}"`);
  }
  return values;
}

/** The held-out frames: an explicit split, else both of the tree's split files joined. */
async function heldOutSplit(root: string, given: string | undefined, out: string): Promise<string> {
  if (given) return resolve(given);
  const parts: string[] = [];
  for (const name of ["train.txt", "val.txt"]) {
    try {
      parts.push(await Deno.readTextFile(join(root, "splits", name)));
    } catch {
      // a tree may have only one of them
    }
  }
  const text = parts.map((p) => (p.endsWith("\n") || p === "" ? p : p + "\n")).join("");
  if (!text.trim()) {
    badFlag("--held-out-split", `${root}/splits has no train.txt or val.txt: give the frames`);
  }
  const path = join(out, "heldout_frames.txt");
  await Deno.mkdir(out, { recursive: true });
  await writeTextFileAtomic(path, text);
  return path;
}

async function main(): Promise<void> {
  const values = parseFlags("study", {
    args: Deno.args,
    options: {
      ...stringFlags("base", "train", "held-out", "held-out-split"),
      ...OUTPUT_FLAGS,
      ...stringFlags(
        "docs",
        "seeds",
        "arms",
        "steps",
        "batch",
        "lr",
        "input-size",
        "probe-sizes",
        "probe-repeats",
      ),
      ...ADAPTER_FLAG,
    },
  }, HELP).values;
  if (values.help) return;
  const base = resolve(requireFlag(values.base, "--base", "the base checkpoint"));
  const train = resolve(requireFlag(values.train, "--train", "clean training scenes"));
  const heldOut = resolve(requireFlag(values["held-out"], "--held-out", "clean held-out scenes"));
  if (train === heldOut) badFlag("--held-out", "must not be the training scenes");
  const out = outFlag(values.out, "where the runs go");
  const docs = resolve(values.docs ?? out);
  const seeds = list(values.seeds, "--seeds", [1, 2, 3]).map((s) => Math.trunc(s));
  const arms = values.arms?.split(",").map((s) => s.trim());
  const known = studyArms().map((a) => a.name);
  for (const a of arms ?? []) {
    if (!known.includes(a)) badFlag("--arms", `"${a}" is not one of ${known.join(", ")}`);
  }
  const steps = intFlag(values.steps, "--steps", D.steps, 1);
  const batch = intFlag(values.batch, "--batch", D.batch, 1);
  const lr = floatFlag(values.lr, "--lr", D.lr)!;
  if (!(lr > 0)) badFlag("--lr", "must be positive");
  const inputSize = intFlag(values["input-size"], "--input-size", D.inputSize, 14);
  if (inputSize % 14 !== 0) badFlag("--input-size", `${inputSize} is not a multiple of the patch size 14`);
  const probeSizes = list(values["probe-sizes"], "--probe-sizes", [...D.probeSizes]);
  const probeRepeats = intFlag(values["probe-repeats"], "--probe-repeats", D.probeRepeats, 1);

  const ctx = await getGpu();
  const rt = new Runtime(ctx);
  for (const line of adapterLines(ctx)) console.log(line);
  const started = performance.now();
  const result = await runExperiment({
    out,
    base,
    train: {
      root: train,
      split: join(train, "splits", "train.txt"),
      valSplit: join(train, "splits", "val.txt"),
    },
    heldOut: { root: heldOut, split: await heldOutSplit(heldOut, values["held-out-split"], out) },
    seeds,
    arms,
    steps,
    batch,
    lr,
    inputSize,
    probeSizes,
    probeRepeats,
    log: (line) => console.log(`   ${line}`),
  }, rt);

  const command = `deno task study ${Deno.args.filter((a) => a !== "--debug").join(" ")}`;
  const files = await writeExperiment(result, { out, docs, command });
  const record = await writeRunRecord(out, {
    task: "study",
    inputs: { base, train, heldOut },
    settings: result.settings,
    results: { verdicts: verdicts(result) },
    timings: { total: (performance.now() - started) / 1000 },
  });
  for (const v of verdicts(result)) {
    console.log(`${v.holds === null ? "?" : v.holds ? "✓" : "✗"} ${v.claim} (${v.numbers})`);
  }
  console.log(
    `\nstudy done in ${
      ((performance.now() - started) / 60000).toFixed(1)
    } min\n${files.markdown}\nrun record: ${record}`,
  );
}

if (import.meta.main) await runTask(main);
