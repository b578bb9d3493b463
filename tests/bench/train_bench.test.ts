import assert from "node:assert/strict";
import { measureOnGpu } from "../../bench/train_bench.ts";
import { Runtime } from "../../core/gpu/runtime.ts";
import { expectedKeys } from "../../core/nn/model/checkpoint.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";
import { planTrainingStep } from "../../core/train/memory_plan.ts";

// On a CPU adapter the bench never takes this path (a ViT-L step would take many minutes there), so it is
// run here on a small model: what a GPU session will run for ViT-L must not fail there for the first time.
Deno.test("the bench's GPU training-step measurement: a whole step timed per op, its peak the planned one", async () => {
  const config = parseConfig(SMALL_MODEL, "the demo's small model");
  const got = await measureOnGpu(config, 70, 1, "blocks");
  assert.ok(got.ms > 0 && Number.isFinite(got.ms));
  // The timed step updated every parameter that gets a gradient once: all but mask_token and
  // refinenet4.resConfUnit1 (never called), one AdamW dispatch each.
  const updated = expectedKeys(config).filter((k) =>
    k !== "pretrained.mask_token" && !k.includes("refinenet4.resConfUnit1")
  );
  const adamw = got.ops.map((line) => line.match(/^\s*adamw\s+([\d.]+) ms\s+×(\d+)$/)).find((m) => m);
  // The list holds the 12 costliest ops: on a CPU adapter AdamW's 122 dispatches lead it; on a GPU they may not.
  assert.ok(adamw || got.ops.length === 12, `AdamW among the step's costliest ops:\n${got.ops.join("\n")}`);
  if (adamw) assert.equal(Number(adamw[2]), updated.length, "one AdamW dispatch per updated parameter");
  // The per-op lines are a breakdown of the step's GPU time: they cannot add up to more.
  const listed = got.ops.reduce((sum, line) => sum + Number(line.match(/([\d.]+) ms/)![1]), 0);
  assert.ok(
    listed > 0 && listed <= got.gpuMs + 0.05 * got.ops.length,
    `${listed} ms listed of ${got.gpuMs} ms`,
  );
  // The peak is the one planned for this adapter (memory_plan.test.ts holds the two together more tightly;
  // on a CPU adapter the blocks keep their fused attention's output, which a GPU's plan has not): at least
  // the plan plus the kernel-parameter block, at most 5 % more.
  const freeze = { kind: "none" } as const;
  const plan = planTrainingStep({
    config,
    batch: 1,
    height: 70,
    width: 70,
    checkpoint: "blocks",
    freeze,
    updateInBackward: true,
    adapter: (await Runtime.create()).ctx,
  });
  const extra = got.stats.peakBytes - 1024 ** 2 - plan.stats.peakBytes;
  assert.ok(
    extra >= 0 && extra <= 0.05 * plan.stats.peakBytes,
    `peak ${got.stats.peakBytes} B, planned ${plan.stats.peakBytes} B`,
  );
  assert.ok(
    got.stats.peakBreakdown.adam === plan.stats.peakBreakdown.adam,
    "AdamW moments are part of the peak",
  );
});
