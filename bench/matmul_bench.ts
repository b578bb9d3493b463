/**
 * f32 matmul at the shapes of a ViT at 518² (1370 tokens), for the three products a linear layer runs
 * (forward A·Bᵀ with PyTorch's [out, in] weights, backward dx = A·B and dW = Aᵀ·B): trompe's `matmul()` on
 * this adapter (on a CPU adapter its texture path, operand copies included) next to onnxruntime-web's wasm
 * backend (2 threads) running a one-node ONNX model of the same product in the same process, as a ratio.
 * Each row also gives GFLOP per CPU-second of the whole process: on a machine shared with other work, wall
 * time says how busy the machine was as much as how fast the code is.
 */
import process from "node:process";
import * as ort from "npm:onnxruntime-web@1.30.0";
import { matmul } from "../core/gpu/matmul.ts";
import { createOrtSession } from "../core/nn/ort_session.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { randomArray } from "../tests/shared.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median, sectionMarkdown } from "./lib.ts";
import { matmulModel, type MatmulModelShape } from "./onnx_matmul_model.ts";

const TOKENS = 1370; // 37×37 patches + the class token at 518²

interface BenchShape extends MatmulModelShape {
  name: string;
}

const product = (s: MatmulModelShape) => (s.transA ? "Aᵀ·B" : s.transB ? "A·Bᵀ" : "A·B");

export const SHAPES: readonly BenchShape[] = [
  { name: "1024³", m: 1024, n: 1024, k: 1024 },
  { name: "ViT-L fc1", m: TOKENS, n: 4096, k: 1024, transB: true },
  { name: "ViT-L fc1, weight stored [in, out]", m: TOKENS, n: 4096, k: 1024 },
  { name: "ViT-L fc1, input stored transposed", m: TOKENS, n: 4096, k: 1024, transA: true },
  { name: "ViT-L fc2", m: TOKENS, n: 1024, k: 4096, transB: true },
  { name: "ViT-L qkv", m: TOKENS, n: 3072, k: 1024, transB: true },
  { name: "ViT-L proj", m: TOKENS, n: 1024, k: 1024, transB: true },
  { name: "ViT-L fc1 dx", m: TOKENS, n: 1024, k: 4096 },
  { name: "ViT-L fc1 dW", m: 4096, n: 1024, k: TOKENS, transA: true },
  { name: "ViT-S fc1", m: TOKENS, n: 1536, k: 384, transB: true },
  { name: "ViT-S fc2", m: TOKENS, n: 384, k: 1536, transB: true },
  { name: "ViT-S qkv", m: TOKENS, n: 1152, k: 384, transB: true },
  // The same output with almost no product: what storing 1370×1152 floats costs each engine. On lavapipe
  // every store is a loop over the SIMD lanes: at k = 384 this is most of what separates the two.
  { name: "ViT-S qkv's output alone (k = 4)", m: TOKENS, n: 1152, k: 4, transB: true },
];

const QUICK_SHAPES = [SHAPES[1], SHAPES[9]];

const gflop = (s: MatmulModelShape) => (2 * s.m * s.n * s.k) / 1e9;

/** One timed run of `work`: wall ms and process CPU ms. */
async function timeOnce(work: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  const used = process.cpuUsage(cpu0);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Products recorded back to back per submit-and-wait, as a model's forward records them: one wait costs
 * Deno's WebGPU about 12 ms of polling latency on lavapipe (an empty submit measured 11.6–13.3 ms), which
 * is not the product's time.
 */
export const PRODUCTS_PER_WAIT = 4;

/** An engine's product at one shape, ready to run: `run` does one timed unit, `products` of them. */
interface Runner {
  run: () => Promise<unknown>;
  products: number;
  dispose: () => Promise<void> | void;
}

function trompeRunner(rt: Runtime, s: BenchShape): Runner {
  const a = rt.upload("bench/a", [s.m * s.k], randomArray(s.m * s.k, 1));
  const b = rt.upload("bench/b", [s.k * s.n], randomArray(s.k * s.n, 2));
  const c = rt.tensor("bench/c", [s.m, s.n]);
  const args = { a, b, c, m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB, label: s.name };
  return {
    run: async () => {
      for (let i = 0; i < PRODUCTS_PER_WAIT; i++) matmul(rt, args);
      await rt.sync();
    },
    products: PRODUCTS_PER_WAIT,
    dispose: () => rt.free(a, b, c),
  };
}

async function ortRunner(s: BenchShape): Promise<Runner> {
  const session = await createOrtSession(matmulModel(s));
  const a = new ort.Tensor("float32", randomArray(s.m * s.k, 1), s.transA ? [s.k, s.m] : [s.m, s.k]);
  const b = new ort.Tensor("float32", randomArray(s.k * s.n, 2), s.transB ? [s.n, s.k] : [s.k, s.n]);
  return { run: () => session.run({ a, b }), products: 1, dispose: () => session.release() };
}

/**
 * Median wall and CPU ms per product of each engine, after a warm-up run of each, the two taking turns
 * run by run: the shared host's speed drifts by up to 2× from one minute to the next, which timing one
 * engine's runs and then the other's would put into the ratio.
 */
async function timeInTurn(engines: Runner[], repeats: number) {
  for (const e of engines) await e.run();
  const times = engines.map(() => ({ wall: [] as number[], cpu: [] as number[] }));
  for (let i = 0; i < repeats; i++) {
    for (const [j, e] of engines.entries()) {
      const t = await timeOnce(e.run);
      times[j].wall.push(t.ms / e.products);
      times[j].cpu.push(t.cpuMs / e.products);
    }
  }
  return times.map((t) => ({ ms: median(t.wall), cpuMs: median(t.cpu) }));
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const repeats = options.quick ? 1 : 5;
  const rt = await Runtime.create();
  ort.env.wasm.numThreads = 2;
  const rows: BenchRow[] = [];
  for (const s of options.quick ? QUICK_SHAPES : SHAPES) {
    const engines = [trompeRunner(rt, s), await ortRunner(s)];
    const [trompe, peer] = await timeInTurn(engines, repeats).finally(async () => {
      for (const e of engines) await e.dispose();
    });
    const rate = (ms: number) => gflop(s) / (ms / 1000);
    rows.push({
      case: `${s.name} ${product(s)} ${s.m}×${s.n}×${s.k}`,
      trompe: `${rate(trompe.ms).toFixed(1)} GFLOP/s`,
      peer: `${rate(peer.ms).toFixed(1)} GFLOP/s (onnxruntime-web wasm, 2 threads)`,
      ratio: rate(trompe.ms) / rate(peer.ms),
      note:
        `per CPU-second: trompe ${rate(trompe.cpuMs).toFixed(1)}, peer ${
          rate(peer.cpuMs).toFixed(1)
        } GFLOP; ms per product: trompe ${trompe.ms.toFixed(1)}, peer ${peer.ms.toFixed(1)}; ` +
        `median of ${repeats}, the engines taking turns`,
    });
  }
  return {
    title: `matmul (f32, ${rt.ctx.adapterName})`,
    rows,
    details: [
      `adapter ${rt.ctx.adapterName}${rt.ctx.isCpu ? " (CPU path: texture operands)" : ""}, ` +
      `${navigator.hardwareConcurrency} CPU threads; M×N×K, FLOPs = 2·M·N·K; trompe's time is per product ` +
      `of ${PRODUCTS_PER_WAIT} recorded back to back and waited for once (operand copies included), ` +
      `onnxruntime's per session.run`,
    ],
  };
}

const BENCH_SHAPE = SHAPES[1];

Deno.bench(
  `matmul ${BENCH_SHAPE.name} ${BENCH_SHAPE.m}×${BENCH_SHAPE.n}×${BENCH_SHAPE.k} (trompe)`,
  async (b) => {
    const rt = await Runtime.create();
    const s = BENCH_SHAPE;
    const a = rt.upload("bench/a", [s.m * s.k], randomArray(s.m * s.k, 1));
    const w = rt.upload("bench/b", [s.k * s.n], randomArray(s.k * s.n, 2));
    const c = rt.tensor("bench/c", [s.m, s.n]);
    const args = { a, b: w, c, m: s.m, n: s.n, k: s.k, transB: s.transB };
    matmul(rt, args);
    await rt.sync(); // compiles the pipelines outside the timed part
    b.start();
    matmul(rt, args);
    await rt.sync();
    b.end();
    rt.free(a, w, c);
  },
);

// `deno run -A bench/matmul_bench.ts [--quick]` prints this section alone.
if (import.meta.main) {
  console.log(sectionMarkdown(await measure({ quick: Deno.args.includes("--quick") })));
}
