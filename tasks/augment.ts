/**
 * `deno task augment`: paste mirrors and art into a Hypersim or vKITTI2 tree and rewrite its ground truth.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { TrompeError } from "../core/errors.ts";
import { adapterFor, type DatasetName } from "../core/augment/datasets.ts";
import { loadRecipe, PRESET_NAMES } from "../core/augment/presets.ts";
import { type Progress, runAugment } from "../core/augment/runner.ts";
import { writePreview } from "../core/augment/write_preview.ts";
import denoJson from "../deno.json" with { type: "json" };

const HELP =
  `deno task augment --dataset hypersim|vkitti2 --root DIR --out DIR --recipe PRESET|FILE --seed N [options]

Pastes mirrors and art (with borders and perspective) into a dataset and rewrites the ground truth of the
pasted regions as the flat surfaces they are. The output has the source's layout and formats, plus
masks/<rgb path>.png (0 untouched, 1 mirror, 2 art, 3 negative), manifest.jsonl, rejects.jsonl,
splits/{train,val}.txt (80/20) and recipe.json. Same inputs, recipe and seed → the same bytes, whatever
--workers and --shard.

  --dataset NAME     hypersim | vkitti2
  --root DIR         the dataset's root folder
  --split FILE       only the frames listed in this split file (Depth Anything V2 format)
  --out DIR          where the augmented set goes
  --recipe R         a preset (${PRESET_NAMES.join(", ")}) or a recipe JSON file
                     (any subset of fields; {"extends": "trompe", ...} changes a preset)
  --seed N           integer seed (default 0)
  --art DIR          folder of JPEG/PNG images to paste (recipes whose art source is "pool")
  --workers N        worker threads (default: number of CPUs)
  --shard i/n        do only shard i of n (1-based), e.g. for a cluster array job
  --resume           skip frames already complete in --out (after a kill)
  --limit N          at most N frames
  --preview N        write preview.png, a contact sheet of the first N frames
  --debug            print stack traces
  --help             this text`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      dataset: { type: "string" },
      root: { type: "string" },
      split: { type: "string" },
      out: { type: "string" },
      recipe: { type: "string" },
      seed: { type: "string", default: "0" },
      art: { type: "string" },
      workers: { type: "string" },
      shard: { type: "string", default: "1/1" },
      resume: { type: "boolean", default: false },
      limit: { type: "string" },
      preview: { type: "string" },
      debug: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const dataset = required(values.dataset, "--dataset");
  if (dataset !== "hypersim" && dataset !== "vkitti2") {
    bad("--dataset", `unknown dataset "${dataset}"`, "hypersim or vkitti2");
  }
  const root = resolve(required(values.root, "--root"));
  const out = resolve(required(values.out, "--out"));
  const recipe = await loadRecipe(required(values.recipe, "--recipe"));
  const seed = integer(values.seed, "--seed", 0);
  const workers = values.workers === undefined
    ? navigator.hardwareConcurrency
    : integer(values.workers, "--workers", 1);
  const shardMatch = /^(\d+)\/(\d+)$/.exec(values.shard!);
  const shard = shardMatch ? [Number(shardMatch[1]), Number(shardMatch[2])] as const : null;
  if (!shard || shard[0] < 1 || shard[0] > shard[1]) {
    bad("--shard", `"${values.shard}" is not i/n with 1 ≤ i ≤ n`, "e.g. --shard 2/8");
  }
  const limit = values.limit === undefined ? undefined : integer(values.limit, "--limit", 0);
  const preview = values.preview === undefined ? 0 : integer(values.preview, "--preview", 1);

  const frames = await adapterFor(dataset as DatasetName).list(root, values.split);
  console.log(
    `augment: ${frames.length} frames in ${root}, recipe ${recipe.name}, seed ${seed}, shard ${shard![0]}/${
      shard![1]
    }, ${workers} workers`,
  );
  const summary = await runAugment(
    {
      dataset: dataset as DatasetName,
      root,
      out,
      recipe,
      seed,
      art: values.art && resolve(values.art),
      frames,
    },
    {
      workers,
      shard: shard!,
      resume: values.resume!,
      limit,
      version: denoJson.version,
      onProgress: progressPrinter(),
    },
  );
  if (preview > 0) {
    console.log(`preview: ${await writePreview(dataset as DatasetName, root, out, frames, preview)}`);
  }
  console.log(
    `done: ${summary.processed} augmented, ${summary.rejectedNow} rejected, ${summary.skipped} already complete` +
      (summary.staleRemoved ? `, ${summary.staleRemoved} stale temporary files removed` : "") +
      ` in ${summary.elapsedS.toFixed(1)} s (${summary.framesPerS.toFixed(2)} frames/s)\n` +
      `set: ${summary.completed} frames (train ${summary.train}, val ${summary.val}), ${summary.rejected} rejects` +
      (summary.rejected ? ` (see ${resolve(out, "rejects.jsonl")})` : "") +
      `\nrun record: ${summary.recordPath}`,
  );
  if (summary.rejectedNow > 0) Deno.exitCode = 2;
}

/** A bar with rate and ETA on a terminal; a plain line every 10 s (and at the end) otherwise. */
function progressPrinter(): (p: Progress) => void {
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  let lastLine = 0;
  return (p) => {
    const finished = p.done + p.rejected;
    const rate = finished / Math.max(p.elapsedS, 1e-9);
    const eta = rate > 0 ? (p.total - finished) / rate : Infinity;
    const text = `${finished}/${p.total} frames, ${p.rejected} rejected, ${rate.toFixed(2)}/s, ETA ${
      clock(eta)
    }`;
    if (tty) {
      const width = 30, filled = p.total ? Math.round((width * finished) / p.total) : width;
      const end = finished === p.total ? "\n" : "";
      Deno.stdout.writeSync(
        encoder.encode(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}\x1b[K${end}`),
      );
    } else if (p.elapsedS - lastLine >= 10 || finished === p.total) {
      lastLine = p.elapsedS;
      console.log(`progress: ${text}`);
    }
  };
}

function clock(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const m = Math.floor(s / 60);
  return m >= 60
    ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`
    : `${m}:${String(Math.round(s % 60)).padStart(2, "0")}`;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") bad(flag, "is required", "see --help");
  return value!;
}

function integer(value: string | undefined, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) bad(flag, `"${value}" is not an integer ≥ ${min}`);
  return n;
}

function bad(flag: string, message: string, hint?: string): never {
  throw new TrompeError("bad-argument", message, { subject: flag, hint });
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    const debug = Deno.args.includes("--debug");
    if (error instanceof TrompeError && !debug) console.error(`error: ${error.oneLine()}`);
    else console.error(error);
    Deno.exit(1);
  }
}
