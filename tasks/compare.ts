/**
 * `deno task compare A B`: how far each parameter tensor and each block moved between two checkpoints.
 */
import { basename, join, resolve } from "node:path";
import { runTask } from "../core/cli/main.ts";
import { choiceFlag, intFlag, parseFlags, stringFlags } from "../core/cli/flags.ts";
import { outFlag, OUTPUT_FLAGS } from "../core/cli/output_flags.ts";
import { writeRunRecord } from "../core/cli/record.ts";
import { TrompeError } from "../core/errors.ts";
import {
  CHART_SCALES,
  compareParameters,
  comparisonChart,
  comparisonMarkdown,
  readParameters,
} from "../core/eval/compare.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { writePng } from "../core/io/png.ts";

const HELP = `deno task compare A B [--out DIR] [--top N]
deno task compare --weights A --weights B [...]   (the same, with the flag the other tasks take)

Compares two checkpoints (.pth, official or train.py's, or .safetensors) key by key: the norm of each tensor in
A and B and its relative change ‖B − A‖ / ‖A‖, then the same per block (pretrained.blocks.i, the head's parts)
— the "norms of keys" check that shows whether fine-tuning moved the encoder, the decoder, or one block too far.
Needs no config, head or max depth.

Writes DIR/compare.md (the tables), DIR/compare.png (relative change by block) and DIR/compare.json, and prints
the block table.

  --out DIR   where the files go (default: compare-<A>-vs-<B> in the current folder)
  --top N     tensors listed in the "changed most" table (default 20)
  --scale S   the chart's axis: auto (default: log when the blocks' changes span 100× or more) | linear | log
  --debug     print stack traces
  --help      this text`;

async function main(): Promise<void> {
  const parsed = parseFlags("compare", {
    args: Deno.args,
    allowPositionals: true,
    options: {
      ...OUTPUT_FLAGS,
      weights: { type: "string", multiple: true },
      ...stringFlags("top", "scale"),
    },
  }, HELP);
  const { values, positionals } = parsed;
  if (values.help) return;
  const given = [...positionals, ...(values.weights ?? [])];
  if (given.length !== 2) {
    throw new TrompeError("bad-argument", `expected two checkpoints, got ${given.length}`, {
      hint: "deno task compare A.pth B.safetensors, or --weights A.pth --weights B.safetensors",
    });
  }
  const top = intFlag(values.top, "--top", 20, 1);
  const scale = choiceFlag(values.scale, "--scale", CHART_SCALES, "auto");
  const [pathA, pathB] = given.map((p) => resolve(p));
  const [nameA, nameB] = [pathA, pathB].map((p) => basename(p));
  const stem = (n: string) => n.replace(/\.[^.]+$/, "");
  const out = outFlag(values.out, { fallback: `compare-${stem(nameA)}-vs-${stem(nameB)}` });

  const start = performance.now();
  const comparison = compareParameters(await readParameters(pathA), await readParameters(pathB));
  if (comparison.keys.length === 0) {
    throw new TrompeError("bad-argument", "the two checkpoints share no key of the same shape", {
      subject: pathB,
      hint: "are they the same architecture?",
    });
  }
  const markdown = comparisonMarkdown(comparison, nameA, nameB, top);
  await writeTextFileAtomic(join(out, "compare.md"), markdown);
  await writePng(join(out, "compare.png"), comparisonChart(comparison, nameA, nameB, scale));
  await writeTextFileAtomic(join(out, "compare.json"), JSON.stringify(comparison, null, 2) + "\n");
  await writeRunRecord(out, {
    task: "compare",
    inputs: { a: pathA, b: pathB },
    settings: { top, scale },
    results: { tensors: comparison.keys.length, blocks: comparison.groups.length },
    timings: { seconds: (performance.now() - start) / 1000 },
  });
  // The block table, which is the part to read first.
  console.log(markdown.slice(0, markdown.indexOf("\n## ")).trim());
  const mismatched = comparison.onlyInA.length + comparison.onlyInB.length + comparison.shapeMismatch.length;
  if (mismatched) console.log(`\n${mismatched} keys do not match: see compare.md`);
  console.log(`\nwrote ${join(out, "compare.md")}, compare.png, compare.json`);
}

if (import.meta.main) await runTask(main);
