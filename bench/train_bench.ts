/**
 * Fine-tuning Depth Anything V2 at 518², batch 1: the trainer's own step (core/train/train_step.ts: training
 * graph, SiLog, AdamW applied inside the backward) for ViT-S measured on this adapter — time and the pool's
 * peak — and ViT-L's peak planned by the accounting-mode pool (core/train/memory_plan.ts) for every
 * checkpoint policy and a frozen encoder, beside PyTorch's peaks on an H100 (../shared/anchors/h100-torch.json)
 * as ratios (PyTorch GiB ÷ trompe GiB: > 1 means trompe needs less). Peak memory does not depend on the
 * device, so those ratios hold on any machine; step times do, so PyTorch's H100 times are context only —
 * except on a GPU adapter, where ViT-L's step is measured too and set against PyTorch's on the H100.
 */
import { join } from "node:path";
import { describePeak, formatBytes } from "../core/gpu/pool.ts";
import { Runtime } from "../core/gpu/runtime.ts";
import { loadCheckpoint } from "../core/nn/model/checkpoint.ts";
import { type ModelConfig, PRESETS } from "../core/nn/model/config.ts";
import { initialWeights } from "../core/nn/model/init_weights.ts";
import { freeWeights, uploadWeights } from "../core/nn/model/weights.ts";
import type { CheckpointPolicy } from "../core/train/checkpointing.ts";
import type { FreezePolicy } from "../core/train/freeze.ts";
import { planTrainingStep } from "../core/train/memory_plan.ts";
import { type StepBatch, TrainStepper } from "../core/train/train_step.ts";
import { HAS_SHARED, randomArray, REFERENCE_DIR, SHARED_DIR } from "../tests/shared.ts";
import type { BenchOptions, BenchRow, BenchSection } from "./lib.ts";

const SIZE = 518;
const GIB = 1024 ** 3;
const WEIGHTS = join(REFERENCE_DIR, "vits-518/weights.safetensors");
const CONFIG = join(REFERENCE_DIR, "vits/config.json");
const ANCHORS = join(SHARED_DIR, "anchors/h100-torch.json");
const RANGE = { minDepth: 0.001, maxDepth: 20 };

interface TorchRun {
  ms_per_step: number;
  peak_GiB: number;
}

interface Anchors {
  gpu: string;
  vits: Record<string, TorchRun>;
  vitl: Record<string, TorchRun>;
  vitl_fp32_weights_plus_adam_GiB: number;
}

/** A fixed batch: a random normalised image, depth between 1 and 10 m, every pixel valid. */
function benchBatch(size: number): StepBatch {
  const plane = size * size;
  return {
    batch: 1,
    height: size,
    width: size,
    image: randomArray(3 * plane, 1),
    depth: randomArray(plane, 2).map((v) => 5.5 + 4.5 * v),
    valid: new Uint32Array(plane).fill(1),
  };
}

/** ViT-S training steps on this adapter: one to compile every pipeline and create the moments, then `repeats`. */
async function measureVits(size: number, repeats: number, checkpoint: CheckpointPolicy) {
  const rt = await Runtime.create();
  const { config, stateDict } = await loadCheckpoint(WEIGHTS, { configFile: CONFIG });
  const weights = uploadWeights(rt, stateDict);
  const stepper = new TrainStepper(rt, config, weights, { checkpoint, trainable: () => true });
  const batch = benchBatch(size);
  const warm = await stepper.step(batch, 5e-6, RANGE);
  const times: number[] = [];
  let last = warm;
  for (let i = 0; i < repeats; i++) {
    last = await stepper.step(batch, 5e-6, RANGE);
    times.push(last.ms);
  }
  stepper.dispose();
  freeWeights(rt, weights);
  return {
    config,
    adapter: rt.ctx.adapterName,
    warmMs: warm.ms,
    times,
    stats: last.stats,
    forwardMs: last.forwardMs,
    backwardMs: last.ms - last.forwardMs,
  };
}

/**
 * A training step of `config` at `size`² on a GPU adapter, from random weights as the PyTorch anchor was: the
 * mean of `repeats` steps after one warm-up, the pool's peak, and one more step under GPU timing for the
 * time per op. (On a CPU adapter a ViT-L step takes many minutes: there only its peak is planned.)
 */
export async function measureOnGpu(
  config: ModelConfig,
  size: number,
  repeats: number,
  checkpoint: CheckpointPolicy,
) {
  const rt = await Runtime.create();
  const weights = uploadWeights(rt, initialWeights(config, 0));
  const stepper = new TrainStepper(rt, config, weights, { checkpoint, trainable: () => true });
  const batch = benchBatch(size);
  await stepper.step(batch, 5e-6, RANGE);
  const times: number[] = [];
  let last;
  for (let i = 0; i < repeats; i++) {
    last = await stepper.step(batch, 5e-6, RANGE);
    times.push(last.ms);
  }
  const timing = await rt.timed("step", async () => void await stepper.step(batch, 5e-6, RANGE));
  stepper.dispose();
  freeWeights(rt, weights);
  const ops = [...timing.byLabel].sort((x, y) => y[1].ms - x[1].ms).slice(0, 12);
  return {
    ms: times.reduce((x, y) => x + y, 0) / times.length,
    stats: last!.stats,
    gpuMs: timing.totalMs,
    source: timing.source,
    ops: ops.map(([label, e]) => `  ${label.padEnd(36)} ${e.ms.toFixed(1).padStart(8)} ms  ×${e.count}`),
  };
}

function plan(config: ModelConfig, checkpoint: CheckpointPolicy, freeze: FreezePolicy) {
  return planTrainingStep({
    config,
    batch: 1,
    height: SIZE,
    width: SIZE,
    checkpoint,
    freeze,
    updateInBackward: true,
  });
}

const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;

export async function measure(options: BenchOptions): Promise<BenchSection> {
  const anchors = JSON.parse(await Deno.readTextFile(ANCHORS)) as Anchors;
  const torch = (model: "vits" | "vitl", run: string) => anchors[model][run];
  const size = options.quick ? 266 : SIZE;
  const checkpoint: CheckpointPolicy = "blocks";
  const vits = await measureVits(size, options.quick ? 0 : 1, checkpoint);
  const stepMs = vits.times.length ? vits.times.reduce((a, b) => a + b, 0) / vits.times.length : vits.warmMs;
  const vitsPlan = plan(vits.config, checkpoint, { kind: "none" });
  const torchVitsCkpt = torch("vits", "train_full_ckpt");
  const rows: BenchRow[] = [
    {
      case: `vits train step ${size}², batch 1, checkpoint ${checkpoint} (measured)`,
      trompe: `${stepMs.toFixed(0)} ms`,
      note: `${vits.adapter}; ${vits.times.length || "no"} timed step(s) after a ${
        (vits.warmMs / 1000).toFixed(1)
      } s first step (compiles the pipelines, creates the AdamW moments); PyTorch's ${
        torchVitsCkpt.ms_per_step.toFixed(1)
      } ms is an ${anchors.gpu}: another machine, so no ratio`,
    },
    {
      case: `vits train step peak ${size}² (measured pool peak)`,
      trompe: gib(vits.stats.peakBytes),
      peer: `${torchVitsCkpt.peak_GiB.toFixed(2)} GiB PyTorch, per-block checkpointing (H100 anchor, 518²)`,
      ratio: size === SIZE ? torchVitsCkpt.peak_GiB * GIB / vits.stats.peakBytes : undefined,
      note: `planned ${gib(vitsPlan.stats.peakBytes)} at 518²`,
    },
  ];

  const vitl: ModelConfig = { ...PRESETS.vitl, head: "metric", maxDepth: 20 };
  const cases: {
    name: string;
    checkpoint: CheckpointPolicy;
    freeze: FreezePolicy;
    peer: string;
    run: string;
    alt?: [string, string];
  }[] = [
    {
      name: "full fine-tune, no checkpointing",
      checkpoint: "none",
      freeze: { kind: "none" },
      run: "train_full",
      peer: "PyTorch full fine-tune",
      alt: ["train_full_optimizer_in_backward", "PyTorch with AdamW in the backward"],
    },
    {
      name: "full fine-tune, checkpoint blocks",
      checkpoint: "blocks",
      freeze: { kind: "none" },
      run: "train_full_ckpt_optimizer_in_backward",
      peer: "PyTorch expert (per-block checkpointing + AdamW in the backward)",
      alt: ["train_full_ckpt", "PyTorch per-block checkpointing"],
    },
    {
      name: "full fine-tune, checkpoint all",
      checkpoint: "all",
      freeze: { kind: "none" },
      run: "train_full_ckpt_optimizer_in_backward",
      peer: "PyTorch expert (per-block checkpointing + AdamW in the backward)",
    },
    {
      // The default policy: with nothing to train below the head, blocks are neither kept nor recomputed.
      name: "frozen encoder, checkpoint blocks",
      checkpoint: "blocks",
      freeze: { kind: "encoder" },
      run: "train_frozen_encoder",
      peer: "PyTorch frozen encoder",
      alt: [
        "train_frozen_encoder_ckpt_optimizer_in_backward",
        "PyTorch frozen + checkpointing + AdamW in backward",
      ],
    },
  ];
  const details: string[] = [
    `vits step (${vits.times.length ? "timed" : "first"} step): upload + forward + loss ${
      vits.forwardMs.toFixed(0)
    } ms, backward with block recomputation and AdamW ${vits.backwardMs.toFixed(0)} ms (wall clock)`,
    `vits measured (${vits.adapter}, ${size}², checkpoint ${checkpoint}): ${describePeak(vits.stats)}`,
    `vits planned (518², checkpoint ${checkpoint}): ${describePeak(vitsPlan.stats)}`,
  ];
  if (!(await Runtime.create()).ctx.isCpu && !options.quick) {
    // ViT-L measured: the step-time target is within 2× of the PyTorch expert's step on an H100.
    const got = await measureOnGpu(vitl, SIZE, 3, "blocks");
    const expert = torch("vitl", "train_full_ckpt_optimizer_in_backward");
    const plain = torch("vitl", "train_full");
    rows.push({
      case: `vitl full fine-tune, checkpoint blocks, ${SIZE}², batch 1 (measured)`,
      trompe: `${got.ms.toFixed(0)} ms, peak ${gib(got.stats.peakBytes)}`,
      peer: `${expert.ms_per_step.toFixed(0)} ms PyTorch expert on an ${anchors.gpu}`,
      ratio: expert.ms_per_step / got.ms,
      note: `${vits.adapter}; plain PyTorch ${plain.ms_per_step.toFixed(0)} ms → ${
        (plain.ms_per_step / got.ms).toFixed(2)
      }×; mean of 3 steps after a warm-up`,
    });
    details.push(
      `vitl measured (${vits.adapter}): ${describePeak(got.stats)}`,
      `vitl step GPU time ${got.gpuMs.toFixed(0)} ms (${got.source}); largest labels:`,
      ...got.ops,
    );
  }
  const floor = anchors.vitl_fp32_weights_plus_adam_GiB;
  for (const c of cases) {
    const p = plan(vitl, c.checkpoint, c.freeze);
    const t = torch("vitl", c.run);
    const alt = c.alt && torch("vitl", c.alt[0]);
    const notes = [
      `${(p.trainable / 1e6).toFixed(1)}M of ${(p.parameters / 1e6).toFixed(1)}M parameters train`,
    ];
    if (c.freeze.kind === "none") {
      notes.push(
        `${(p.stats.peakBytes / GIB - floor).toFixed(2)} GiB above the ${floor.toFixed(2)} GiB floor`,
      );
    }
    if (alt) {
      notes.push(
        `${c.alt![1]}: ${alt.peak_GiB.toFixed(2)} GiB → ${
          (alt.peak_GiB * GIB / p.stats.peakBytes).toFixed(2)
        }×`,
      );
    }
    notes.push(`PyTorch step ${t.ms_per_step.toFixed(0)} ms on the H100`);
    rows.push({
      case: `vitl ${c.name}, 518², batch 1 (planned peak)`,
      trompe: gib(p.stats.peakBytes),
      peer: `${t.peak_GiB.toFixed(2)} GiB ${c.peer}`,
      ratio: t.peak_GiB * GIB / p.stats.peakBytes,
      note: notes.join("; "),
    });
    details.push(
      `vitl ${c.name}: ${describePeak(p.stats)}`,
      `  largest buffers at the peak: ${
        p.peakLive.slice(0, 5).map((b) => `${b.label} ${formatBytes(b.bytes)}`).join(", ")
      }`,
    );
  }
  return {
    title:
      `Training: Depth Anything V2 at ${SIZE}², batch 1 — vits measured on ${vits.adapter}, vitl planned` +
      (rows.some((r) => r.case.startsWith("vitl full fine-tune, checkpoint blocks, 518², batch 1 (measured)"))
        ? " and measured"
        : ""),
    rows,
    details,
  };
}

if (HAS_SHARED) {
  // Set up on the first (warm-up) call: importing this module from bench/run.ts must not load a model.
  let setup: { stepper: TrainStepper; batch: StepBatch } | undefined;
  Deno.bench({
    name: `vits train step ${SIZE}×${SIZE}, checkpoint blocks`,
    n: 1,
    warmup: 1,
    fn: async () => {
      if (!setup) {
        const rt = await Runtime.create();
        const { config, stateDict } = await loadCheckpoint(WEIGHTS, { configFile: CONFIG });
        const stepper = new TrainStepper(rt, config, uploadWeights(rt, stateDict), {
          checkpoint: "blocks",
          trainable: () => true,
        });
        setup = { stepper, batch: benchBatch(SIZE) };
      }
      await setup.stepper.step(setup.batch, 5e-6, RANGE);
    },
  });
}
