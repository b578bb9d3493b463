import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { bilinearAlignCorners } from "../../core/nn/resize_ref.ts";
import {
  evalDepth,
  evaluateImage,
  evaluationMask,
  METRIC_NAMES,
  MetricsMean,
} from "../../core/eval/metrics.ts";
import { REFERENCE_DIR, relL2, sharedTest } from "../shared.ts";

sharedTest("official metrics on metrics.safetensors", async () => {
  const ref = await readSafetensors(join(REFERENCE_DIR, "metrics.safetensors"));
  const [, , h, w] = ref.shape("pred_small");
  const [H, W] = ref.shape("target");
  const target = ref.float64("target");
  const resized = bilinearAlignCorners(ref.float64("pred_small"), 1, h, w, H, W);
  assert.ok(relL2(resized, ref.float64("pred_resized")) <= 1e-15, "pred_resized");
  const range = { minDepth: Number(ref.metadata.min_depth), maxDepth: Number(ref.metadata.max_depth) };
  assert.deepEqual(evaluationMask(target, undefined, range), ref.raw("mask"));
  const got = evaluateImage(
    { data: ref.float64("pred_small"), width: w, height: h },
    { data: target, width: W, height: H },
    undefined,
    range,
  );
  assert.ok(got !== null);
  const report: string[] = [];
  for (const k of METRIC_NAMES) {
    const want: number = ref.float64(`metric/${k}`)[0];
    const rel: number = Math.abs(got[k] - want) / Math.abs(want);
    report.push(`${k} ${rel.toExponential(1)}`);
    assert.ok(rel <= 1e-12, `${k}: ${got[k]} vs ${want}`);
  }
  console.log(`relative error per metric: ${report.join(", ")}`);
});

Deno.test("eval_depth on a hand example", () => {
  const m = evalDepth([1, 2, 4], [1, 1, 1]);
  assert.equal(m.d1, Math.fround(1 / 3));
  assert.equal(m.d3, Math.fround(1 / 3)); // 2 >= 1.25^3 = 1.953
  assert.ok(Math.abs(m.abs_rel - 4 / 3) < 1e-15);
  assert.ok(Math.abs(m.rmse - Math.sqrt(10 / 3)) < 1e-15);
  const l = [0, Math.log(2), Math.log(4)];
  const mean2 = (l[0] ** 2 + l[1] ** 2 + l[2] ** 2) / 3;
  const mean = (l[0] + l[1] + l[2]) / 3;
  assert.ok(Math.abs(m.silog - Math.sqrt(mean2 - 0.5 * mean * mean)) < 1e-15);
  assert.ok(Math.abs(m.log10 - Math.log10(2)) < 1e-15);
});

Deno.test("images with fewer than 10 masked pixels are skipped, the rest averaged", () => {
  const target = new Float64Array(16).fill(2);
  const valid = new Uint8Array(16);
  valid.fill(1, 0, 9);
  const pred = { data: new Float64Array(16).fill(2), width: 4, height: 4 };
  assert.equal(evaluateImage(pred, { data: target, width: 4, height: 4 }, valid), null);
  valid.fill(1);
  const exact = evaluateImage(pred, { data: target, width: 4, height: 4 }, valid);
  const off = evaluateImage({ ...pred, data: new Float64Array(16).fill(4) }, {
    data: target,
    width: 4,
    height: 4,
  });
  const mean = new MetricsMean();
  mean.add(exact);
  mean.add(null);
  mean.add(off);
  assert.equal(mean.count, 2);
  assert.equal(mean.mean().abs_rel, 0.5);
  assert.equal(mean.mean().d1, 0.5);
});
