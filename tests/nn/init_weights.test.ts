import assert from "node:assert/strict";
import { expectedShapes } from "../../core/nn/model/checkpoint.ts";
import { parseConfig } from "../../core/nn/model/config.ts";
import { initialWeights } from "../../core/nn/model/init_weights.ts";

const config = parseConfig({
  embedDim: 64,
  depth: 2,
  heads: 4,
  features: 16,
  outChannels: [8, 16, 32, 32],
  layers: [0, 1, 1, 1],
  head: "metric",
  maxDepth: 20,
  imgSize: 70,
}, "test config");

const std = (x: Float32Array) => {
  const m = x.reduce((a, b) => a + b, 0) / x.length;
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / x.length);
};

Deno.test("initialWeights: every official key at its shape, the official initialisation, seeded", () => {
  const dict = initialWeights(config, 7);
  const shapes = expectedShapes(config);
  assert.deepEqual([...dict.keys()], [...shapes.keys()]);
  for (const [key, t] of dict) {
    assert.deepEqual(t.shape, shapes.get(key), key);
    assert.ok(t.data.every(Number.isFinite), key);
  }
  const get = (key: string) => dict.get(key)!.data;
  assert.ok(get("pretrained.blocks.0.norm1.weight").every((v) => v === 1));
  assert.ok(get("pretrained.blocks.1.ls2.gamma").every((v) => v === 1));
  assert.ok(get("pretrained.blocks.0.attn.qkv.bias").every((v) => v === 0));
  const qkv = get("pretrained.blocks.0.attn.qkv.weight");
  assert.ok(Math.abs(std(qkv) - 0.02 * 0.88) < 0.002, `truncated normal std ${std(qkv)}`);
  assert.ok(qkv.every((v) => Math.abs(v) <= 0.04 + 1e-7));
  assert.ok(Math.max(...get("pretrained.cls_token").map(Math.abs)) < 1e-5);
  // A head convolution: uniform within ±1/√fan_in (16 inputs × 3 × 3), bias by the same bound.
  const bound = 1 / Math.sqrt(16 * 9);
  const conv = get("depth_head.scratch.output_conv1.weight");
  assert.ok(conv.every((v) => Math.abs(v) <= bound) && Math.max(...conv.map(Math.abs)) > 0.9 * bound);
  assert.ok(get("depth_head.scratch.output_conv1.bias").every((v) => Math.abs(v) <= bound));

  assert.deepEqual(initialWeights(config, 7).get("pretrained.pos_embed")!.data, get("pretrained.pos_embed"));
  assert.notDeepEqual(
    initialWeights(config, 8).get("pretrained.pos_embed")!.data,
    get("pretrained.pos_embed"),
  );
});
