import assert from "node:assert/strict";
import { describePeak } from "../../core/gpu/pool.ts";
import { PRESETS } from "../../core/nn/model/config.ts";
import { planTrainingStep } from "../../core/train/memory_plan.ts";

const VITL = { ...PRESETS.vitl, head: "metric" as const, maxDepth: 20 };
const GIB = 1024 ** 3;

function plan(
  checkpoint: "none" | "blocks" | "all",
  updateInBackward: boolean,
  freeze = { kind: "none" } as const,
) {
  return planTrainingStep({
    config: VITL,
    batch: 1,
    height: 518,
    width: 518,
    checkpoint,
    freeze,
    updateInBackward,
  });
}

Deno.test("ViT-L 518² full fine-tuning plans below the PyTorch expert's 4.98 GiB and within 4.5 GiB", () => {
  const p = plan("blocks", true);
  console.log(`vitl, checkpoint blocks, AdamW in the backward: ${describePeak(p.stats)}`);
  assert.ok(p.stats.peakBytes <= 4.5 * GIB, describePeak(p.stats));
  // The floor: fp32 weights plus two moments of every parameter that receives a gradient.
  const floor = p.stats.peakBreakdown.weights + p.stats.peakBreakdown.adam;
  assert.ok(floor > 3.7 * GIB && floor < 3.76 * GIB, `${floor}`);
  // Whole-model gradients (no update in the backward) cost the parameters' size again.
  const kept = plan("blocks", false);
  assert.ok(
    kept.stats.peakBreakdown.grads > 0.99 * kept.stats.peakBreakdown.weights,
    describePeak(kept.stats),
  );
  assert.ok(kept.stats.peakBytes > p.stats.peakBytes + 0.5 * GIB);
  // Checkpointing trades recomputation for memory, monotonically.
  const none = plan("none", true).stats.peakBytes;
  const all = plan("all", true).stats.peakBytes;
  assert.ok(none > p.stats.peakBytes && p.stats.peakBytes >= all);
});

Deno.test("a frozen encoder has no gradient buffers and no AdamW state", () => {
  const p = plan("blocks", true, { kind: "encoder" } as never);
  const headParams = p.trainable;
  assert.ok(headParams < p.parameters / 10);
  // Moments only for the head's parameters that receive a gradient (refinenet4.resConfUnit1 gets none).
  assert.ok(p.stats.peakBreakdown.adam <= 2 * 4 * headParams, describePeak(p.stats));
  assert.ok(!p.peakLive.some((b) => /^(grads|adam)\/pretrained\./.test(b.label)));
  // Nothing runs backward through a frozen encoder, so it keeps no activations even without checkpointing.
  const none = plan("none", true, { kind: "encoder" } as never);
  assert.ok(
    none.stats.peakBytes <= p.stats.peakBytes,
    `${describePeak(none.stats)} vs ${describePeak(p.stats)}`,
  );
});
