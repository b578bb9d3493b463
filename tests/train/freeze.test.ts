import assert from "node:assert/strict";
import { describeFreeze, isTrainable, parseFreeze } from "../../core/train/freeze.ts";
import { TrompeError } from "../../core/errors.ts";

const KEYS = [
  "pretrained.cls_token",
  "pretrained.pos_embed",
  "pretrained.patch_embed.proj.weight",
  "pretrained.blocks.0.attn.qkv.weight",
  "pretrained.blocks.2.mlp.fc1.bias",
  "pretrained.blocks.11.ls2.gamma",
  "pretrained.norm.weight",
  "depth_head.projects.0.weight",
  "depth_head.scratch.output_conv2.2.bias",
];

function trainable(spec: string): string[] {
  const policy = parseFreeze(spec, 12);
  return KEYS.filter((k) => isTrainable(k, policy));
}

Deno.test("freeze policies select the official parameter sets", () => {
  assert.deepEqual(trainable("none"), KEYS);
  assert.deepEqual(trainable("encoder"), KEYS.filter((k) => k.startsWith("depth_head.")));
  assert.deepEqual(trainable("decoder"), KEYS.filter((k) => k.startsWith("pretrained.")));
  // Only the named blocks freeze: embeddings, other blocks, the final norm and the head train.
  assert.deepEqual(
    trainable("blocks:0-2"),
    KEYS.filter((k) => !/blocks\.[0-2]\./.test(k)),
  );
  assert.equal(describeFreeze(parseFreeze("blocks:3-5")), "blocks:3-5");
});

Deno.test("bad freeze policies name the flag and the valid range", () => {
  for (const spec of ["all", "blocks:5-3", "blocks:0-12", "blocks:1"]) {
    assert.throws(
      () => parseFreeze(spec, 12),
      (e: unknown) => e instanceof TrompeError && e.subject === "--freeze",
    );
  }
});
