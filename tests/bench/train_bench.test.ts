import assert from "node:assert/strict";
import { measureOnGpu } from "../../bench/train_bench.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { SMALL_MODEL } from "../../core/study/small_model.ts";

// On a CPU adapter the bench never takes this path (a ViT-L step would take many minutes there), so it is
// run here on a small model: what a GPU session will run for ViT-L must not fail there for the first time.
Deno.test("the bench's GPU training-step measurement reports step time, peak and per-op GPU time", async () => {
  const config = parseConfig(SMALL_MODEL, "the demo's small model");
  const got = await measureOnGpu(config, 70, 1, "blocks");
  assert.ok(got.ms > 0 && Number.isFinite(got.ms));
  assert.ok(got.stats.peakBytes > 0);
  assert.ok(got.stats.peakBreakdown.adam > 0, "AdamW moments are part of the peak");
  assert.ok(got.gpuMs > 0);
  assert.ok(got.ops.length > 0 && got.ops.some((line) => line.includes("ms  ×")));
});
