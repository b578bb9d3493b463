/**
 * What `deno task info` and the demo print about the GPU trompe runs on: the adapter, backend, features and
 * the limits trompe uses, and a quick f32 matmul speed.
 */
import { type AdapterSummary, type GpuContext, REQUIRED_LIMITS } from "../gpu/device.ts";
import { matmul } from "../gpu/matmul.ts";
import { formatBytes } from "../gpu/pool.ts";
import type { Runtime } from "../gpu/runtime.ts";
import { TROMPE_VERSION } from "../version.ts";

/** The one line every computing run prints about its device. */
export function adapterLine(summary: AdapterSummary): string {
  const kind = summary.software ? "software (CPU)" : "hardware (GPU)";
  const chosen = summary.chosenBy === "default" ? "" : `, chosen by ${summary.chosenBy}`;
  return `device: ${summary.name}: ${kind}, backend ${summary.backend}, adapter ${summary.index} of ` +
    `${summary.of}${chosen}`;
}

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

/** A matmul shape: C [m, n] = A [m, k]·Bᵀ, B stored [n, k] as a linear layer's weight. */
export interface MatmulShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/** ViT-L's fc1 at 518² (1370 tokens × 1024 → 4096): the shape `deno task info` times by default. */
export const VIT_L_FC1: MatmulShape = { m: 1370, n: 4096, k: 1024 };

export interface MatmulSpeed extends MatmulShape {
  readonly ms: number;
  readonly gflops: number;
  /** "timestamp-query" or "wall-clock". */
  readonly source: string;
  /** Which matmul path ran: CPU adapters take the texture path (core/gpu/matmul_cpu.ts). */
  readonly path: "CPU path" | "GPU kernels";
}

/**
 * f32 C = A·Bᵀ through `matmul()` (the path the models take) for `shape`, or N×N×N for a number: one
 * warm-up (compiles the pipeline), then the mean of three timed runs.
 */
export async function matmulSpeed(rt: Runtime, shape: MatmulShape | number): Promise<MatmulSpeed> {
  const { m, n, k } = typeof shape === "number" ? { m: shape, n: shape, k: shape } : shape;
  const fill = (size: number) => new Float32Array(size).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = rt.upload("tmp/info-a", [m, k], fill(m * k));
  const b = rt.upload("tmp/info-b", [n, k], fill(n * k));
  const c = rt.tensor("tmp/info-c", [m, n]);
  const product = () => matmul(rt, { a, b, c, m, n, k, transB: true, label: "matmul" });
  try {
    product();
    await rt.sync();
    const reps = 3;
    const report = await rt.timed("matmul", () => {
      for (let i = 0; i < reps; i++) product();
    });
    const ms = report.totalMs / reps;
    const path = rt.ctx.isCpu ? "CPU path" : "GPU kernels";
    return { m, n, k, ms, gflops: (2 * m * n * k) / (ms * 1e6), source: report.source, path };
  } finally {
    rt.free(a, b, c);
  }
}

export function matmulLine(speed: MatmulSpeed): string {
  const { m, n, k, ms, gflops, source, path } = speed;
  return `matmul:   ${m}×${n}×${k} A·Bᵀ f32 ${ms.toFixed(2)} ms, ${
    gflops.toFixed(1)
  } GFLOP/s (${path}, ${source})`;
}
