/**
 * Training throughput of the small models trompe trains itself: the demo's (core/study/small_model.ts: 64 wide,
 * 4 blocks, DPT features 32) at the demo's input size, 70 px, and the study's base model
 * (fixtures/study_base/config.json: 192 wide, 6 blocks) at its training size, 112 px, batch 4, checkpoint
 * policy "none", as fixtures/study_base/make.sh trains it. The trainer's own step (core/train/train_step.ts —
 * training graph, SiLog over the whole batch, AdamW applied inside the backward) in samples per second, from
 * the official random initialisation. Each batch size runs one warm-up step (pipelines, AdamW moments), then
 * `repeats` timed steps; the figure is batch ÷ median step time. The peer is the same step in PyTorch on this
 * machine's CPU (bench/torch_train_small.py: the official model code, train.py's step, the same config), run
 * when a python3 with torch is found; it states its torch version and thread count. Debian's python3-torch is
 * a generic build, slower than a tuned one: the ratio is to that build. Data loading is in neither.
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
import type { CheckpointPolicy } from "../core/train/checkpointing.ts";
import { type StepBatch, TrainStepper } from "../core/train/train_step.ts";
import { randomArray } from "../tests/shared.ts";
import { type BenchOptions, type BenchRow, type BenchSection, median } from "./lib.ts";

const RANGE = { minDepth: 0.001, maxDepth: 20 };
const TORCH_SCRIPT = join(import.meta.dirname!, "torch_train_small.py");

/** One model to time: its config fields (as a config JSON holds them), input size, batches and checkpointing. */
export interface TrainingCase {
  name: string;
  config: Record<string, unknown>;
  size: number;
  batches: readonly number[];
  checkpoint: CheckpointPolicy;
}

export const DEMO_MODEL_CASE: TrainingCase = {
  name: "demo's small model (64 wide, 4 blocks)",
  config: SMALL_MODEL,
  size: 70,
  batches: [1, 4, 8, 16],
  checkpoint: "blocks",
};

const BASE_CONFIG_FILE = join(import.meta.dirname!, "..", "fixtures", "study_base", "config.json");

/** The study's base model as make.sh trains it. */
export function baseModelCase(): TrainingCase {
  return {
    name: "study base model (192 wide, 6 blocks)",
    config: JSON.parse(Deno.readTextFileSync(BASE_CONFIG_FILE)),
    size: 112,
    batches: [4],
    checkpoint: "none",
  };
}

/** A fixed batch: random normalised images, depth between 1 and 10 m, every pixel valid. */
export function smallBatch(batch: number, size: number): StepBatch {
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

/**
 * Times a case's training step at each of `batches` (default the case's), on one runtime (pipelines compiled
 * once); `size` overrides the case's input size.
 */
export async function measureSmallTraining(
  model: TrainingCase,
  repeats: number,
  batches: readonly number[] = model.batches,
  size = model.size,
): Promise<{ adapter: string; timings: SmallStepTiming[] }> {
  const rt = await Runtime.create();
  const config = parseConfig(model.config, model.name);
  const timings: SmallStepTiming[] = [];
  for (const b of batches) {
    // Fresh weights and moments per batch size: every size starts from the same model.
    const weights = uploadWeights(rt, initialWeights(config, 0));
    const stepper = new TrainStepper(rt, config, weights, {
      checkpoint: model.checkpoint,
      trainable: () => true,
    });
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
  model: TrainingCase,
  repeats: number,
): Promise<TorchResult | { missing: string }> {
  const reasons: string[] = [];
  for (const python of pythons()) {
    let output;
    try {
      output = await new Deno.Command(python, {
        args: [
          TORCH_SCRIPT,
          ...["--batches", model.batches.join(","), "--repeats", String(repeats)],
          ...["--size", String(model.size), "--config", JSON.stringify(model.config)],
        ],
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

/** One case's rows: trompe and, where it runs, PyTorch, one after the other in the same minutes. */
async function measureCase(model: TrainingCase, repeats: number): Promise<BenchSection> {
  const { adapter, timings } = await measureSmallTraining(model, repeats);
  const torch = await measureTorch(model, repeats);
  const rows: BenchRow[] = timings.map((t) => {
    const peer = "timings" in torch ? torch.timings.find((x) => x.batch === t.batch) : undefined;
    return {
      case: `${model.name} train step ${model.size}², batch ${t.batch}`,
      trompe: `${t.samplesPerSecond.toFixed(2)} samples/s (${t.medianMs.toFixed(0)} ms a step)`,
      peer: peer && "timings" in torch
        ? `${peer.samples_per_s.toFixed(2)} samples/s PyTorch ${torch.torch} CPU, ${torch.threads} threads`
        : undefined,
      ratio: peer ? t.samplesPerSecond / peer.samples_per_s : undefined,
      note: `${adapter}; checkpoint ${model.checkpoint}; median of ${t.times.length} steps after a warm-up (${
        t.times.map((x) => x.toFixed(0)).join(", ")
      } ms); pool peak ${(t.peakBytes / 2 ** 20).toFixed(1)} MiB`,
    };
  });
  const details = "missing" in torch ? [`no PyTorch peer for the ${model.name}: ${torch.missing}`] : [];
  return { title: adapter, rows, details };
}

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const repeats = options.quick ? 2 : 5;
  const demo = options.quick ? { ...DEMO_MODEL_CASE, batches: [1, 4] } : DEMO_MODEL_CASE;
  const sections = [await measureCase(demo, repeats), await measureCase(baseModelCase(), repeats)];
  return {
    title: `Training throughput: the models trompe trains itself, on ${sections[0].title}`,
    rows: sections.flatMap((s) => s.rows),
    details: sections.flatMap((s) => s.details ?? []),
  };
}
