/**
 * Depth Anything V2 ViT-S forward at 518×518 (../shared/reference/vits-518: the official weights' layout, the
 * ONNX export of the same weights): trompe's WGSL model on this adapter next to onnxruntime-web's wasm backend
 * (2 threads) in the same process, as a ratio; where trompe's GPU time goes (per dispatch label, timestamp
 * queries where the adapter has them) and the pool's peak memory with its breakdown.
 */
import { join } from "node:path";
import { describePeak, formatBytes } from "../core/gpu/pool.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import type { Tensor } from "../core/gpu/tensor.ts";
import { DepthAnythingV2 } from "../core/nn/model/depth_anything.ts";
import { loadDepthAnythingV2 } from "../core/nn/model/load.ts";
import { expectedShapes } from "../core/nn/model/checkpoint.ts";
import { PRESETS } from "../core/nn/model/config.ts";
import { GpuWeights } from "../core/nn/model/weights.ts";
import { OnnxEngine } from "../core/nn/onnx_engine.ts";
import { AccountingRuntime } from "../core/train/memory_plan.ts";
import { HAS_SHARED, randomArray, REFERENCE_DIR } from "../tests/shared.ts";
import { type BenchOptions, type BenchSection, median, timeRuns } from "./lib.ts";

const SIZE = 518;
const WEIGHTS = join(REFERENCE_DIR, "vits-518/weights.safetensors");
const CONFIG = join(REFERENCE_DIR, "vits/config.json");
const ONNX = join(REFERENCE_DIR, "vits-518/model.onnx");

async function loadModel(): Promise<DepthAnythingV2> {
  return loadDepthAnythingV2(WEIGHTS, { configFile: CONFIG }, await Runtime.create());
}

/**
 * ViT-L's inference peak at 518², planned: the same forward code against a pool in accounting-only mode (every
 * buffer counted with its label, nothing dispatched), so it is known on any machine.
 */
async function plannedVitlPeak() {
  const config = { ...PRESETS.vitl, head: "relative" as const };
  const rt = new AccountingRuntime();
  const tensors = new Map<string, Tensor>();
  for (const [key, shape] of expectedShapes(config)) tensors.set(key, rt.tensor(`weights/${key}`, shape));
  const model = new DepthAnythingV2(rt, config, new GpuWeights(tensors));
  const image = rt.tensor("act/input", [1, 3, SIZE, SIZE]);
  const { logits, depth } = await model.forwardTensor(image);
  rt.free(image, logits, depth);
  return rt.pool.stats();
}

/**
 * One forward's wall clock up to the encoder's features (waited for) and from there to the depth read
 * back: `forwardTensor` as its two parts (a tap would change the head: it keeps what it shows).
 */
async function splitForward(model: DepthAnythingV2, input: Float32Array) {
  const rt = model.rt;
  const t0 = performance.now();
  const image = rt.upload("act/input", [1, 3, SIZE, SIZE], input);
  const encoded = model.encode(image);
  rt.free(image);
  await rt.sync();
  const t1 = performance.now();
  const { logits, depth } = await model.decode(encoded);
  await rt.read(depth);
  rt.free(logits, depth);
  return { encoder: t1 - t0, head: performance.now() - t1 };
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const repeats = options.quick ? 1 : 5;
  const input = randomArray(3 * SIZE * SIZE, 1);
  const model = await loadModel();
  const rt = model.rt;
  const forward = () => model.forward(input, SIZE, SIZE);
  await forward(); // compiles every pipeline
  rt.pool.resetPeak();
  const timing = await rt.timed("forward", async () => void await forward());
  const peak = rt.pool.stats();
  const onnx = await OnnxEngine.open(ONNX, { numThreads: 2 });
  await onnx.forward(input, SIZE, SIZE);
  // The two engines take turns, forward by forward: the shared host's speed drifts by up to 2× from one
  // minute to the next, and a ratio of runs taken apart measures the drift as much as the engines.
  const trompeTimes: number[] = [];
  const ortTimes: number[] = [];
  for (let i = 0; i < repeats; i++) {
    trompeTimes.push(...await timeRuns(forward, 1, 0));
    ortTimes.push(...await timeRuns(() => onnx.forward(input, SIZE, SIZE), 1, 0));
  }
  const trompeMs = median(trompeTimes);
  const ortMs = median(ortTimes);
  // Where a forward's wall clock goes, split in the same runs (the queue drained once, after the encoder):
  // the split that stays true where timestamps do not (below). Medians of runs taken minutes apart would
  // split the host's drift as much as the forward.
  const splits: { encoder: number; head: number }[] = [];
  for (let i = 0; i < repeats; i++) splits.push(await splitForward(model, input));
  const encoderMs = median(splits.map((s) => s.encoder));
  const headMs = median(splits.map((s) => s.head));
  model.dispose();

  const vitl = await plannedVitlPeak();
  const ops = [...timing.byLabel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14);
  return {
    title: `Forward: Depth Anything V2 ViT-S, 1×3×${SIZE}×${SIZE}, on ${rt.ctx.adapterName}`,
    rows: [{
      case: `vits forward ${SIZE}² (median of ${repeats}, engines taking turns)`,
      trompe: `${trompeMs.toFixed(0)} ms`,
      peer: `${ortMs.toFixed(0)} ms onnxruntime-web wasm, 2 threads (anchor: 2438 ms)`,
      ratio: ortMs / trompeMs,
      note: `pool peak ${formatBytes(peak.peakBytes)}`,
    }, {
      case: `vitl forward ${SIZE}² peak memory (planned, accounting mode)`,
      trompe: formatBytes(vitl.peakBytes),
      note: describePeak(vitl),
    }],
    details: [
      `forwards in turn, ms: trompe ${trompeTimes.map((t) => t.toFixed(0)).join(", ")}; onnxruntime-web ${
        ortTimes.map((t) => t.toFixed(0)).join(", ")
      }`,
      `wall clock, one forward split by a wait after the encoder (medians of ${repeats}): upload and encoder ${
        encoderMs.toFixed(0)
      } ms, DPT head and readback ${headMs.toFixed(0)} ms`,
      `GPU time of one forward: ${timing.totalMs.toFixed(0)} ms (${timing.source}); largest labels:`,
      ...(rt.ctx.isCpu
        ? [
          "  (a CPU adapter's timestamps miss work that overlaps the next pass — the head's convs read ~0 —",
          "   so on one the per-label times are lower bounds; the wall-clock split above is the true one)",
        ]
        : []),
      ...ops.map(([label, t]) =>
        `  ${label.padEnd(36)} ${t.ms.toFixed(1).padStart(8)} ms ${
          (100 * t.ms / timing.totalMs).toFixed(1).padStart(5)
        } %  ×${t.count}`
      ),
      `peak: ${describePeak(peak)}`,
    ],
  };
}

if (HAS_SHARED) {
  // Loaded on the first (warm-up) call: importing this module from bench/run.ts must not load a model.
  let model: DepthAnythingV2 | undefined;
  const input = randomArray(3 * SIZE * SIZE, 1);
  Deno.bench({
    name: `vits forward ${SIZE}×${SIZE}`,
    n: 3,
    warmup: 1,
    fn: async () => {
      model ??= await loadModel();
      await model.forward(input, SIZE, SIZE);
    },
  });
}
