/**
 * `deno task bench [--only matmul,forward,...] [--quick]`: runs each bench module's `measure` in turn (one at a
 * time, so none competes with another for the cores) and writes bench/results/<date>-<adapter>.{json,md}: one
 * table per module, trompe beside its peer as a ratio. A module that fails is recorded in the results and the
 * run goes on.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { getGpu } from "../core/gpu/device.ts";
import { writeTextFileAtomic } from "../core/io/atomic.ts";
import { TROMPE_VERSION } from "../core/version.ts";
import { type BenchSection, type Measure, sectionMarkdown } from "./lib.ts";

/** Module name → file under bench/, in the order they run. */
const MODULES: Record<string, string> = {
  matmul: "./matmul_bench.ts",
  forward: "./forward_bench.ts",
  train: "./train_bench.ts",
  data: "./data_bench.ts",
  augment: "./augment_bench.ts",
};

const { values } = parseArgs({
  args: Deno.args,
  options: { only: { type: "string" }, quick: { type: "boolean", default: false } },
});
const names = values.only ? values.only.split(",").map((s) => s.trim()) : Object.keys(MODULES);
const unknown = names.filter((n) => !(n in MODULES));
if (unknown.length) {
  console.error(
    `bench: unknown module(s) ${unknown.join(", ")}; choose from ${Object.keys(MODULES).join(", ")}`,
  );
  Deno.exit(2);
}

const gpu = await getGpu();
const adapter = gpu.adapterName;
const started = new Date();
const sections: BenchSection[] = [];
const failures: { module: string; error: string }[] = [];
for (const name of names) {
  console.log(`bench ${name} …`);
  const t0 = performance.now();
  try {
    const module = await import(MODULES[name]) as { measure: Measure };
    const section = await module.measure({ quick: values.quick });
    sections.push(section);
    console.log(sectionMarkdown(section) + `\n(${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  } catch (error) {
    const message = error instanceof Error ? error.stack ?? error.message : String(error);
    failures.push({ module: name, error: message });
    console.error(`bench ${name} failed: ${message}`);
  }
}

const header = [
  `# trompe ${TROMPE_VERSION} benchmarks, ${started.toISOString().slice(0, 16)}Z`,
  "",
  `Adapter: ${adapter}. Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores.` +
  (values.quick ? " Quick run (fewer repeats, smaller inputs): not for figures." : ""),
  "Ratio > 1 means trompe is ahead of the peer (speed ratio, or the peer's memory ÷ trompe's).",
];
const markdown = [
  ...header,
  ...sections.map((s) => "\n" + sectionMarkdown(s)),
  ...failures.map((f) => `\n## ${f.module}: failed\n\n\`\`\`\n${f.error}\n\`\`\``),
].join("\n") + "\n";
const slug = adapter.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
const stem = join(import.meta.dirname!, "results", `${started.toISOString().slice(0, 10)}-${slug}`);
await Deno.mkdir(join(import.meta.dirname!, "results"), { recursive: true });
await writeTextFileAtomic(`${stem}.md`, markdown);
await writeTextFileAtomic(
  `${stem}.json`,
  JSON.stringify(
    {
      version: TROMPE_VERSION,
      adapter,
      started: started.toISOString(),
      quick: values.quick,
      sections,
      failures,
    },
    null,
    2,
  ) + "\n",
);
console.log(`wrote ${stem}.md and .json`);
if (failures.length) Deno.exit(1);
