/**
 * What `deno task info` and the demo print about the GPU trompe runs on: the adapter, backend, features and
 * the limits trompe uses, and a quick f32 matmul speed.
 */
import { type GpuContext, REQUIRED_LIMITS } from "../gpu/device.ts";
import { matmul } from "../gpu/matmul.ts";
import { formatBytes } from "../gpu/pool.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { TROMPE_VERSION } from "../version.ts";

/** Version, adapter and backend, features, and each limit trompe needs against the device's. */
export function adapterLines(ctx: GpuContext): string[] {
  const info = ctx.adapter.info;
  const lines = [
    `trompe ${TROMPE_VERSION} on Deno ${Deno.version.deno}`,
    `adapter:  ${ctx.adapterName}`,
    `          vendor ${info.vendor || "?"}, architecture ${info.architecture || "?"}`,
    `backend:  ${ctx.backend}`,
    `features: ${[...ctx.adapter.features].sort().join(", ")}`,
    `          shader-f16 ${ctx.hasF16 ? "yes" : "no"}, timestamp-query ${ctx.hasTimestamps ? "yes" : "no"}`,
    "limits (device / trompe's minimum):",
  ];
  for (const name of Object.keys(REQUIRED_LIMITS) as (keyof typeof REQUIRED_LIMITS)[]) {
    const value = ctx.limits[name];
    const shown = name.endsWith("Size") ? formatBytes(value) : String(value);
    const min = REQUIRED_LIMITS[name];
    lines.push(
      `  ${name.padEnd(36)} ${shown.padStart(12)}  (${name.endsWith("Size") ? formatBytes(min) : min})`,
    );
  }
  return lines;
}

export interface MatmulSpeed {
  readonly n: number;
  readonly ms: number;
  readonly gflops: number;
  /** "timestamp-query" or "wall-clock". */
  readonly source: string;
}

/** N×N×N f32 matmul: one warm-up (compiles the pipeline), then the mean of three timed runs. */
export async function matmulSpeed(rt: Runtime, n: number): Promise<MatmulSpeed> {
  const data = new Float32Array(n * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = rt.upload("tmp/info-a", [n, n], data);
  const b = rt.upload("tmp/info-b", [n, n], data);
  const c = rt.tensor("tmp/info-c", [n, n]);
  try {
    matmul(rt, { a, b, c, m: n, n, k: n });
    await rt.sync();
    const reps = 3;
    const report = await rt.timed("matmul", () => {
      for (let i = 0; i < reps; i++) matmul(rt, { a, b, c, m: n, n, k: n });
    });
    const ms = report.totalMs / reps;
    return { n, ms, gflops: (2 * n ** 3) / (ms * 1e6), source: report.source };
  } finally {
    rt.free(a, b, c);
  }
}

export function matmulLine(speed: MatmulSpeed): string {
  const { n, ms, gflops, source } = speed;
  return `matmul:   ${n}×${n}×${n} f32 ${ms.toFixed(2)} ms, ${gflops.toFixed(1)} GFLOP/s (${source})`;
}
