import assert from "node:assert/strict";
import { DEMO_MODEL_CASE, measureSmallTraining, smallBatch } from "../../bench/train_small_bench.ts";

Deno.test("the small-model training bench times each batch size's step and reports samples per second", async () => {
  const { adapter, timings } = await measureSmallTraining(DEMO_MODEL_CASE, 1, [1, 2], 28);
  assert.ok(adapter.length > 0);
  assert.deepEqual(timings.map((t) => t.batch), [1, 2]);
  for (const t of timings) {
    assert.equal(t.times.length, 1);
    assert.ok(t.medianMs > 0 && Number.isFinite(t.samplesPerSecond));
    assert.ok(Math.abs(t.samplesPerSecond - (t.batch * 1000) / t.medianMs) < 1e-9);
  }
  // A batch of two holds twice the images, depth and masks: its step's peak is larger.
  assert.ok(timings[1].peakBytes > timings[0].peakBytes);
  const b = smallBatch(2, 28);
  assert.deepEqual([b.image.length, b.depth.length, b.valid.length], [2 * 3 * 784, 2 * 784, 2 * 784]);
});
