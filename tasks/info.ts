/**
 * `deno task info`: which WebGPU adapter trompe gets, through which backend, with which features and limits,
 * and a quick matmul speed.
 */
import { parseArgs } from "node:util";
import { getGpu } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { adapterLines, matmulLine, matmulSpeed } from "../core/cli/gpu_info.ts";
import { runTask } from "../core/cli/main.ts";

const HELP = `deno task info [--size N] [--debug]

Prints the WebGPU adapter trompe gets, the backend (DENO_WEBGPU_BACKEND: vulkan, gl, metal, dx12; unset =
the platform default), its features, the limits trompe uses, and a quick f32 matmul speed (N×N×N, default 512).`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      size: { type: "string", default: "512" },
      debug: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) return console.log(HELP);
  const ctx = await getGpu();
  for (const line of adapterLines(ctx)) console.log(line);
  console.log(matmulLine(await matmulSpeed(new Runtime(ctx), Number(values.size))));
}

await runTask(main);
