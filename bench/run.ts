/**
 * `deno task bench [--only matmul,forward,...] [--quick]`: runs each bench module's `measure` in turn (one at a
 * time, so none competes with another for the cores) and writes bench/results/<date>-<adapter>.{json,md}: one
 * table per module, trompe beside its peer as a ratio. A module that fails is recorded in the results and the
 * run goes on. A run of some modules (`--only`) replaces just their sections in that day's file for the
 * adapter, keeping the others with the time each was measured.
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
  attention: "./attention_bench.ts",
  forward: "./forward_bench.ts",
  train: "./train_bench.ts",
  "train-small": "./train_small_bench.ts",
  data: "./data_bench.ts",
  augment: "./augment_bench.ts",
  browser: "./browser_bench.ts",
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
interface ModuleResult {
  measured: string;
  section?: BenchSection;
  error?: string;
}
const results: Record<string, ModuleResult> = {};
for (const name of names) {
  console.log(`bench ${name} …`);
  const t0 = performance.now();
  try {
    const module = await import(MODULES[name]) as { measure: Measure };
    const section = await module.measure({ quick: values.quick });
    results[name] = { measured: new Date().toISOString(), section };
    console.log(sectionMarkdown(section) + `\n(${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  } catch (error) {
    const message = error instanceof Error ? error.stack ?? error.message : String(error);
    results[name] = { measured: new Date().toISOString(), error: message };
    console.error(`bench ${name} failed: ${message}`);
  }
}

const slug = adapter.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
const stem = join(import.meta.dirname!, "results", `${started.toISOString().slice(0, 10)}-${slug}`);
await Deno.mkdir(join(import.meta.dirname!, "results"), { recursive: true });
const earlier = await readEarlier(`${stem}.json`, values.quick);
const modules: Record<string, ModuleResult> = {};
for (const name of Object.keys(MODULES)) {
  const result = results[name] ?? earlier[name];
  if (result) modules[name] = result;
}
const header = [
  `# trompe ${TROMPE_VERSION} benchmarks, ${started.toISOString().slice(0, 10)}`,
  "",
  `Adapter: ${adapter}. Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} logical cores.` +
  (values.quick ? " Quick run (fewer repeats, smaller inputs): not for figures." : ""),
  "Ratio > 1 means trompe is ahead of the peer (speed ratio, or the peer's memory ÷ trompe's).",
];
const markdown = [
  ...header,
  ...Object.entries(modules).map(([name, r]) =>
    r.section
      ? `\n${sectionMarkdown(r.section)}\n\n(measured ${r.measured.slice(0, 16)}Z)`
      : `\n## ${name}: failed (${r.measured.slice(0, 16)}Z)\n\n\`\`\`\n${r.error}\n\`\`\``
  ),
].join("\n") + "\n";
await writeTextFileAtomic(`${stem}.md`, markdown);
await writeTextFileAtomic(
  `${stem}.json`,
  JSON.stringify({ version: TROMPE_VERSION, adapter, quick: values.quick, modules }, null, 2) + "\n",
);
console.log(`wrote ${stem}.md and .json`);
if (Object.values(results).some((r) => r.error)) Deno.exit(1);

/** The same day's results for this adapter, when of the same kind (quick or not); a file of another format is replaced. */
async function readEarlier(path: string, quick: boolean): Promise<Record<string, ModuleResult>> {
  try {
    const json = JSON.parse(await Deno.readTextFile(path));
    return json.quick === quick && json.modules && typeof json.modules === "object" ? json.modules : {};
  } catch {
    return {};
  }
}
