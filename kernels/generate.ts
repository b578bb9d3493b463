/**
 * `deno task kernels`: writes every generated file under kernels/ — the WGSL whose bodies are generated
 * (their *.gen.ts), then kernels/sources.ts from all the WGSL — so one command brings them all up to date.
 */
import {
  generateBackward as attentionCpuBackward,
  generateForward as attentionCpu,
} from "./attention_cpu.gen.ts";
import { generate as convCpu } from "./conv_cpu.gen.ts";
import {
  generate as matmulCpu,
  generateToTexture as matmulCpuTexture,
  generateVec4Store as matmulCpuVec4,
} from "./matmul_cpu.gen.ts";
import { generate as matmulTile128 } from "./matmul_tile128.gen.ts";
import { generate as sourcesModule } from "./sources.gen.ts";

const here = (name: string) => new URL(`./${name}`, import.meta.url);

const generatedWgsl: Record<string, () => string> = {
  "attention_cpu.wgsl": attentionCpu,
  "attention_cpu_backward.wgsl": attentionCpuBackward,
  "conv_cpu.wgsl": convCpu,
  "matmul_cpu.wgsl": matmulCpu,
  "matmul_cpu_texture.wgsl": () => matmulCpuTexture(Deno.readTextFileSync(here("activation.wgsl"))),
  "matmul_cpu_vec4.wgsl": matmulCpuVec4,
  "matmul_tile128.wgsl": matmulTile128,
};
for (const [name, generate] of Object.entries(generatedWgsl)) Deno.writeTextFileSync(here(name), generate());

const sources = new Map<string, string>();
for (const entry of Deno.readDirSync(here(""))) {
  if (entry.isFile && entry.name.endsWith(".wgsl")) {
    sources.set(entry.name, Deno.readTextFileSync(here(entry.name)));
  }
}
Deno.writeTextFileSync(here("sources.ts"), sourcesModule(sources));
console.log(
  `kernels: ${Object.keys(generatedWgsl).length} generated WGSL files, ${sources.size} in sources.ts`,
);
