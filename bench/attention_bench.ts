/**
 * DINOv2's attention op (core/nn/ops/attention.ts: qkv linear, attention, proj linear) at ViT-S's shape at
 * 518² (1370 tokens, 384 channels, 6 heads of 64), forward and forward + backward: the fused kernels of
 * CPU adapters (core/nn/ops/attention_cpu.ts) against the materialised path (scores through the matmul,
 * softmax, P·V) in the same process, runs taken alternately. Beside the wall clock, the process's CPU time
 * (user + system, every thread: lavapipe's workers are threads of this process), which holds where other
 * work shares the cores and the wall clock does not. Only on CPU adapters (elsewhere there is nothing fused).
 */
import process from "node:process";
import { Runtime } from "../core/gpu/runtime.ts";
import type { Tensor } from "../core/gpu/tensor.ts";
import { attentionBackward, attentionForward, attentionSavedTensors } from "../core/nn/ops/attention.ts";
import { randomArray } from "../tests/shared.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median } from "./lib.ts";

const SHAPE = { tokens: 1370, channels: 384, heads: 6 };

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const rt = await Runtime.create();
  const tokens = options.quick ? 257 : SHAPE.tokens;
  const C = SHAPE.channels;
  const title = `Attention: ViT-S's op at ${tokens} tokens, ${SHAPE.heads} heads of ${
    C / SHAPE.heads
  }, on ${rt.ctx.adapterName}`;
  if (!rt.ctx.isCpu) return { title, rows: [{ case: "fused attention", trompe: "CPU adapters only" }] };
  const upload = (name: string, dims: number[], seed: number) =>
    rt.upload(name, dims, randomArray(dims.reduce((a, b) => a * b), seed).map((v) => v * 0.2));
  const w = {
    qkv: {
      weight: upload("weights/qkv.weight", [3 * C, C], 1),
      bias: upload("weights/qkv.bias", [3 * C], 2),
    },
    proj: { weight: upload("weights/proj.weight", [C, C], 3), bias: upload("weights/proj.bias", [C], 4) },
  };
  const x = upload("act/x", [1, tokens, C], 5);
  const dy = upload("grads/dy", [1, tokens, C], 6);

  /** One forward (and backward) read back to the host: [wall ms, CPU ms]. */
  async function run(fused: boolean, backward: boolean): Promise<[number, number]> {
    const o = { heads: SHAPE.heads, fused };
    const t0 = performance.now();
    const c0 = cpuMs();
    const { y, saved } = attentionForward(rt, x, w, o, "act/attn");
    const out: Tensor[] = [y];
    if (backward) out.push(attentionBackward(rt, x, w, saved, dy, undefined, o, "grads/attn"));
    await rt.read(out[out.length - 1]);
    const times: [number, number] = [performance.now() - t0, cpuMs() - c0];
    rt.free(...out, ...attentionSavedTensors(saved));
    return times;
  }

  const repeats = options.quick ? 1 : 4;
  const rows: BenchRow[] = [];
  for (const backward of [false, true]) {
    for (const fused of [false, true]) await run(fused, backward); // compiles every pipeline
    const got = { fused: [] as [number, number][], materialised: [] as [number, number][] };
    for (let i = 0; i < repeats; i++) {
      got.materialised.push(await run(false, backward));
      got.fused.push(await run(true, backward));
    }
    const wall = (r: [number, number][]) => median(r.map((t) => t[0]));
    const cpu = (r: [number, number][]) => median(r.map((t) => t[1]));
    const what = backward ? "forward + backward" : "forward";
    rows.push({
      case: `${what}, CPU time (median of ${repeats})`,
      trompe: `${cpu(got.fused).toFixed(0)} ms fused`,
      peer: `${cpu(got.materialised).toFixed(0)} ms materialised`,
      ratio: cpu(got.materialised) / cpu(got.fused),
      note: "user + system, all threads",
    }, {
      case: `${what}, wall clock (median of ${repeats})`,
      trompe: `${wall(got.fused).toFixed(0)} ms fused`,
      peer: `${wall(got.materialised).toFixed(0)} ms materialised`,
      ratio: wall(got.materialised) / wall(got.fused),
      note: "moves with the load of the shared cores",
    });
  }
  rt.free(x, dy, w.qkv.weight, w.qkv.bias, w.proj.weight, w.proj.bias);
  return { title, rows };
}

if (import.meta.main) {
  // `deno run -A bench/attention_bench.ts [--quick]`: the section alone, printed.
  const { sectionMarkdown } = await import("./lib.ts");
  console.log(sectionMarkdown(await measure({ quick: Deno.args.includes("--quick") })));
}
