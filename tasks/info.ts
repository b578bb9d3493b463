/**
 * `deno task info`: which WebGPU adapter trompe gets, through which backend, with which features and limits,
 * and a quick matmul speed.
 */
import { parseArgs } from "node:util";
import { getGpu, REQUIRED_LIMITS } from "../core/gpu/device.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { matmul } from "../core/gpu/matmul.ts";
import { formatBytes } from "../core/gpu/pool.ts";
import { runTask } from "../core/cli/main.ts";
import { TROMPE_VERSION } from "../core/version.ts";

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
  console.log(`trompe ${TROMPE_VERSION} on Deno ${Deno.version.deno}`);
  console.log(`adapter:  ${ctx.adapterName}`);
  const info = ctx.adapter.info;
  console.log(`          vendor ${info.vendor || "?"}, architecture ${info.architecture || "?"}`);
  console.log(`backend:  ${ctx.backend}`);
  console.log(`features: ${[...ctx.adapter.features].sort().join(", ")}`);
  console.log(
    `          shader-f16 ${ctx.hasF16 ? "yes" : "no"}, timestamp-query ${ctx.hasTimestamps ? "yes" : "no"}`,
  );
  console.log("limits (device / trompe's minimum):");
  for (const name of Object.keys(REQUIRED_LIMITS) as (keyof typeof REQUIRED_LIMITS)[]) {
    const value = ctx.limits[name];
    const shown = name.endsWith("Size") ? formatBytes(value) : String(value);
    const min = REQUIRED_LIMITS[name];
    console.log(
      `  ${name.padEnd(36)} ${shown.padStart(12)}  (${name.endsWith("Size") ? formatBytes(min) : min})`,
    );
  }
  const n = Number(values.size);
  const rt = new Runtime(ctx);
  const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = rt.upload("tmp/info-a", [n, n], data);
  const b = rt.upload("tmp/info-b", [n, n], data);
  const c = rt.tensor("tmp/info-c", [n, n]);
  matmul(rt, { a, b, c, m: n, n, k: n });
  await rt.sync(); // compile and warm up
  const reps = 3;
  const report = await rt.timed("matmul", () => {
    for (let i = 0; i < reps; i++) matmul(rt, { a, b, c, m: n, n, k: n });
  });
  const ms = report.totalMs / reps;
  const gflops = (2 * n ** 3) / (ms * 1e6);
  console.log(
    `matmul:   ${n}×${n}×${n} f32 ${ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s (${report.source})`,
  );
  rt.free(a, b, c);
}

await runTask(main);
