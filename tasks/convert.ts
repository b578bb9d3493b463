/**
 * `deno task convert`: a checkpoint from one form to another — official .pth ↔ trompe safetensors, float32 ↔
 * float16 — keeping its config, head, max depth and provenance. The weights are checked finite on the way.
 */
import { resolve } from "node:path";
import { choiceFlag, MODEL_FLAGS, modelFlags, parseFlags } from "../core/cli/flags.ts";
import { runTask } from "../core/cli/main.ts";
import { isFile } from "../core/data/scan.ts";
import { TrompeError } from "../core/errors.ts";
import { loadCheckpoint, saveCheckpoint } from "../core/nn/model/checkpoint.ts";

const HELP = `deno task convert IN OUT [--dtype f32|f16] [--config FILE --head KIND --max-depth M]

Writes checkpoint IN as OUT: an official .pth or a trompe .safetensors (by OUT's extension), the weights as
float32 or float16 (--dtype, safetensors only; default f32). The config, head and max depth come from IN's
trompe metadata or the flags, as for predict; OUT's provenance names IN as its parent. OUT must not exist.

  --dtype T         f32 | f16 (default f32)
  --config FILE     model config JSON, for a checkpoint that does not record it
  --head KIND       metric | relative, for an official checkpoint whose name does not say
  --max-depth M     the metric head's max depth
  --debug           print stack traces
  --help            this text`;

async function main(): Promise<void> {
  const { values, positionals } = parseFlags("convert", {
    args: Deno.args,
    allowPositionals: true,
    options: {
      dtype: { type: "string" },
      ...MODEL_FLAGS,
    },
  }, HELP);
  if (values.help) return;
  if (positionals.length !== 2) {
    throw new TrompeError("bad-argument", `expected IN and OUT, got ${positionals.length} paths`, {
      subject: "convert",
      hint: "deno task convert IN OUT",
    });
  }
  const [input, output] = positionals.map((p) => resolve(p));
  const dtype = choiceFlag(values.dtype, "--dtype", ["f32", "f16"] as const, "f32");
  if (await isFile(output)) {
    throw new TrompeError("bad-argument", "already exists: convert never overwrites a checkpoint", {
      subject: output,
    });
  }
  const loaded = await loadCheckpoint(input, modelFlags(values));
  for (const [name, t] of loaded.stateDict) {
    if (!t.data.every((x: number) => Number.isFinite(x))) {
      throw new TrompeError("corrupt", `${name} holds non-finite weights`, { subject: input });
    }
  }
  const notes = await saveCheckpoint(output, {
    config: loaded.config,
    stateDict: loaded.stateDict,
    provenance: { ...loaded.provenance, parent: input, converted: dtype },
    dtype: dtype === "f16" ? "F16" : "F32",
  });
  for (const note of [...loaded.notes, ...notes]) console.log(`  ${note}`);
  const bytes = (await Deno.stat(output)).size;
  console.log(`${output}: ${loaded.stateDict.size} tensors, ${dtype}, ${(bytes / 2 ** 20).toFixed(2)} MiB`);
}

if (import.meta.main) await runTask(main);
