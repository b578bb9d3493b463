/**
 * Training throughput of the demo's small model (core/study/small_model.ts: 64 wide, 4 blocks, DPT features
 * 32) at the demo's input size, 70 px: the trainer's own step (core/train/train_step.ts — training graph,
 * SiLog over the whole batch, AdamW applied inside the backward, checkpoint policy "blocks" as `deno task
 * train` defaults to) in samples per second, at batch 1 and larger batches, from the official random
 * initialisation. Each batch size runs one warm-up step (pipelines, AdamW moments), then `repeats` timed
 * steps; the figure is batch ÷ median step time. The peer is the same step in PyTorch on this machine's CPU
 * (bench/torch_train_small.py: the official model code, train.py's step), run when a python3 with torch is
 * found; it states its torch version and thread count. Debian's python3-torch is a generic build, slower
 * than a tuned one: the ratio is to that build.
 *
 * These steps are overhead-bound on a CPU adapter: what a step costs is mostly the number of dispatches
 * and submits, not arithmetic — hence the batch sizes.
 */
import { join } from "node:path";
import { Runtime } from "../core/gpu/runtime.ts";
import { parseConfig } from "../core/nn/model/config.ts";
import { initialWeights } from "../core/nn/model/init_weights.ts";
import { freeWeights, uploadWeights } from "../core/nn/model/weights.ts";
import { SMALL_MODEL } from "../core/study/small_model.ts";
import { type StepBatch, TrainStepper } from "../core/train/train_step.ts";
import { randomArray } from "../tests/shared.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median } from "./lib.ts";

export const SMALL_SIZE = 70;
const RANGE = { minDepth: 0.001, maxDepth: 20 };
const TORCH_SCRIPT = join(import.meta.dirname!, "torch_train_small.py");

/** A fixed batch: random normalised images, depth between 1 and 10 m, every pixel valid. */
export function smallBatch(batch: number, size = SMALL_SIZE): StepBatch {
  const plane = size * size;
  return {
    batch,
    height: size,
    width: size,
    image: randomArray(batch * 3 * plane, 1),
    depth: randomArray(batch * plane, 2).map((v) => 5.5 + 4.5 * v),
    valid: new Uint32Array(batch * plane).fill(1),
  };
}

export interface SmallStepTiming {
  batch: number;
  /** Wall-clock ms of each timed step. */
  times: number[];
  medianMs: number;
  samplesPerSecond: number;
  peakBytes: number;
}

/** Times the small model's training step at each batch size, on one runtime (pipelines compiled once). */
export async function measureSmallTraining(
  batches: readonly number[],
  repeats: number,
  size = SMALL_SIZE,
): Promise<{ adapter: string; timings: SmallStepTiming[] }> {
  const rt = await Runtime.create();
  const config = parseConfig(SMALL_MODEL, "the demo's small model");
  const timings: SmallStepTiming[] = [];
  for (const b of batches) {
    // Fresh weights and moments per batch size: every size starts from the same model.
    const weights = uploadWeights(rt, initialWeights(config, 0));
    const stepper = new TrainStepper(rt, config, weights, { checkpoint: "blocks", trainable: () => true });
    const batch = smallBatch(b, size);
    await stepper.step(batch, 5e-6, RANGE);
    const times: number[] = [];
    let peakBytes = 0;
    for (let i = 0; i < repeats; i++) {
      const outcome = await stepper.step(batch, 5e-6, RANGE);
      times.push(outcome.ms);
      peakBytes = Math.max(peakBytes, outcome.stats.peakBytes);
    }
    stepper.dispose();
    freeWeights(rt, weights);
    const medianMs = median(times);
    timings.push({ batch: b, times, medianMs, samplesPerSecond: (b * 1000) / medianMs, peakBytes });
  }
  return { adapter: rt.ctx.adapterName, timings };
}

interface TorchTiming {
  batch: number;
  median_ms: number;
  samples_per_s: number;
}

interface TorchResult {
  torch: string;
  threads: number;
  timings: TorchTiming[];
}

/**
 * Pythons tried for the PyTorch peer, in order: `TROMPE_PYTHON`, then python3 on the PATH, then the system's
 * (Debian's python3-torch installs for /usr/bin/python3, which a pyenv shim on the PATH may hide).
 */
function pythons(): string[] {
  const own = Deno.env.get("TROMPE_PYTHON");
  return [...(own ? [own] : []), "python3", "/usr/bin/python3"];
}

/** The same step in PyTorch on this CPU, from the first python3 that has torch; else why not. */
async function measureTorch(
  batches: readonly number[],
  repeats: number,
): Promise<TorchResult | { missing: string }> {
  const reasons: string[] = [];
  for (const python of pythons()) {
    let output;
    try {
      output = await new Deno.Command(python, {
        args: [TORCH_SCRIPT, "--batches", batches.join(","), "--repeats", String(repeats)],
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      reasons.push(`${python}: ${error instanceof Error ? error.message : error}`);
      continue;
    }
    if (output.success) {
      const lines = new TextDecoder().decode(output.stdout).trim().split("\n");
      return JSON.parse(lines.at(-1)!) as TorchResult;
    }
    const err = new TextDecoder().decode(output.stderr).trim();
    reasons.push(`${python}: ${err.split("\n").at(-1) ?? "failed"}`);
  }
  return { missing: reasons.join("; ") };
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const batches = options.quick ? [1, 4] : [1, 4, 8, 16];
  const repeats = options.quick ? 2 : 5;
  const { adapter, timings } = await measureSmallTraining(batches, repeats);
  const torch = await measureTorch(batches, repeats);
  const rows: BenchRow[] = timings.map((t) => {
    const peer = "timings" in torch ? torch.timings.find((x) => x.batch === t.batch) : undefined;
    return {
      case: `small model (64 wide, 4 blocks) train step ${SMALL_SIZE}², batch ${t.batch}`,
      trompe: `${t.samplesPerSecond.toFixed(2)} samples/s (${t.medianMs.toFixed(0)} ms a step)`,
      peer: peer && "timings" in torch
        ? `${peer.samples_per_s.toFixed(2)} samples/s PyTorch ${torch.torch} CPU, ${torch.threads} threads`
        : undefined,
      ratio: peer ? t.samplesPerSecond / peer.samples_per_s : undefined,
      note: `${adapter}; median of ${t.times.length} steps after a warm-up (${
        t.times.map((x) => x.toFixed(0)).join(", ")
      } ms); pool peak ${(t.peakBytes / 2 ** 20).toFixed(1)} MiB`,
    };
  });
  const details = "missing" in torch ? [`no PyTorch peer: ${torch.missing}`] : [];
  return {
    title: `Training throughput: the demo's small model at ${SMALL_SIZE}² on ${adapter}`,
    rows,
    details,
  };
}
