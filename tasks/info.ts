/**
 * `deno task info`: which WebGPU adapter trompe gets, through which backend, with which features and limits,
 * and a quick matmul speed.
 */
import { describeAdapter, getGpu, listAdapters } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { adapterLines, matmulLine, type MatmulShape, matmulSpeed, VIT_L_FC1 } from "../core/cli/gpu_info.ts";
import { TrompeError } from "../core/errors.ts";
import { runTask } from "../core/cli/main.ts";
import { ADAPTER_FLAG, parseFlags } from "../core/cli/flags.ts";

const HELP = `deno task info [--shape MxNxK] [--debug]

Prints the WebGPU adapter trompe gets, the backend (DENO_WEBGPU_BACKEND: vulkan, gl, metal, dx12; unset =
the platform default), its features, the limits trompe uses, and a quick f32 matmul speed: C = A·Bᵀ as in a
linear layer, through the path the models take (on a CPU adapter such as lavapipe, its texture path), by
default at ${VIT_L_FC1.m}x${VIT_L_FC1.n}x${VIT_L_FC1.k} (ViT-L's fc1 at 518²).`;

/** "1370x4096x1024" → { m: 1370, n: 4096, k: 1024 }. */
function parseShape(text: string): MatmulShape {
  const dims = text.split(/[x×]/).map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TrompeError("bad-argument", `expected MxNxK, e.g. 1370x4096x1024, got "${text}"`, {
      subject: "--shape",
    });
  }
  const [m, n, k] = dims;
  return { m, n, k };
}

async function main(): Promise<void> {
  const { values } = parseFlags("info", {
    options: {
      shape: { type: "string" },
      ...ADAPTER_FLAG,
    },
  }, HELP);
  if (values.help) return;
  // Flags are checked before the adapter is opened: a bad one is the only line printed.
  const shape = values.shape === undefined ? VIT_L_FC1 : parseShape(values.shape);
  const ctx = await getGpu();
  for (const line of adapterLines(ctx)) console.log(line);
  const offered = (await listAdapters()).map((a, i) => `${i} ${describeAdapter(a)}`);
  console.log(`adapters: ${offered.join(", ")} (choose with --adapter N)`);
  console.log(matmulLine(await matmulSpeed(new Runtime(ctx), shape)));
}

await runTask(main);
