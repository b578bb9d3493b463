import assert from "node:assert/strict";
import { join } from "node:path";
import { blockOf, compareParameters, comparisonChart, readParameters } from "../../core/eval/compare.ts";
import { readSafetensors } from "../../core/io/safetensors.ts";
import { REFERENCE_DIR, sharedTest } from "../shared.ts";

const TINY = join(REFERENCE_DIR, "tiny-a");

Deno.test("compare: keys group into the network's blocks", () => {
  assert.equal(blockOf("pretrained.blocks.11.attn.qkv.weight"), "pretrained.blocks.11");
  assert.equal(blockOf("pretrained.patch_embed.proj.weight"), "pretrained.patch_embed");
  assert.equal(blockOf("pretrained.cls_token"), "pretrained.cls_token");
  assert.equal(
    blockOf("depth_head.scratch.refinenet3.resConfUnit1.conv1.bias"),
    "depth_head.scratch.refinenet3",
  );
  assert.equal(blockOf("depth_head.projects.0.weight"), "depth_head.projects");
});

Deno.test("compare: relative change per key and per block, missing keys and shape mismatches", () => {
  const t = (...v: number[]) => ({ shape: [v.length], data: Float32Array.from(v) });
  const a = new Map([
    ["pretrained.blocks.0.a", t(3, 4)],
    ["pretrained.blocks.0.b", t(0, 0)],
    ["depth_head.projects.0.weight", t(1, 0)],
    ["gone", t(1)],
    ["reshaped", t(1, 2)],
  ]);
  const b = new Map([
    ["pretrained.blocks.0.a", t(3, 4)],
    ["pretrained.blocks.0.b", t(1, 0)],
    ["depth_head.projects.0.weight", t(0, 1)],
    ["new", t(1)],
    ["reshaped", t(1, 2, 3)],
  ]);
  const c = compareParameters(a, b);
  const key = (k: string) => c.keys.find((x) => x.key === k)!;
  assert.equal(key("pretrained.blocks.0.a").relative, 0);
  assert.equal(key("pretrained.blocks.0.b").relative, null, "zero-norm A has no relative change");
  assert(Math.abs(key("depth_head.projects.0.weight").relative! - Math.SQRT2) < 1e-15);
  const block = c.groups.find((g) => g.group === "pretrained.blocks.0")!;
  assert.equal(block.normA, 5);
  assert.equal(block.normDelta, 1);
  assert.equal(block.relative, 0.2);
  assert.deepEqual(c.onlyInA, ["gone"]);
  assert.deepEqual(c.onlyInB, ["new"]);
  assert.deepEqual(c.shapeMismatch.map((m) => m.key), ["reshaped"]);
  assert.deepEqual(c.groups.map((g) => g.group).slice(0, 2), ["pretrained.blocks.0", "depth_head.projects"]);
});

sharedTest(
  "compare: tiny-a before and after one training step, against float64 norms computed here",
  async () => {
    const a = await readSafetensors(join(TINY, "weights.safetensors"));
    const b = await readSafetensors(join(TINY, "after_step.safetensors"));
    const c = compareParameters(
      await readParameters(join(TINY, "weights.safetensors")),
      await readParameters(join(TINY, "after_step.safetensors")),
    );
    assert.equal(c.keys.length, a.names().length);
    const blocks = new Map<string, { a: number; d: number }>();
    for (const name of a.names()) {
      const x = a.float64(name), y = b.float64(name);
      let na = 0, nd = 0;
      for (let i = 0; i < x.length; i++) {
        na += x[i] ** 2;
        nd += (y[i] - x[i]) ** 2;
      }
      const got = c.keys.find((k) => k.key === name)!;
      if (na === 0) assert.equal(got.relative, null);
      else assert(Math.abs(got.relative! - Math.sqrt(nd / na)) <= 1e-12 * Math.sqrt(nd / na), name);
      const group = name.startsWith("pretrained.blocks.") ? name.split(".").slice(0, 3).join(".") : null;
      if (group) {
        const s = blocks.get(group) ?? { a: 0, d: 0 };
        blocks.set(group, { a: s.a + na, d: s.d + nd });
      }
    }
    assert.equal(blocks.size, 4);
    for (const [group, s] of blocks) {
      const got = c.groups.find((g) => g.group === group)!;
      assert(Math.abs(got.relative! - Math.sqrt(s.d / s.a)) <= 1e-12 * got.relative!, group);
    }
    // One step moves every trainable block a little, and the head more than the encoder (10× its lr).
    const rel = (g: string) => c.groups.find((x) => x.group === g)!.relative!;
    assert(
      rel("depth_head.scratch.refinenet1") > rel("pretrained.blocks.0") && rel("pretrained.blocks.0") > 0,
    );
    const chart = comparisonChart(c, "a", "b");
    assert(chart.width >= 720 && chart.height === 560);
  },
);

sharedTest("compare: the same weights as .pth and .safetensors do not differ", async () => {
  const c = compareParameters(
    await readParameters(join(TINY, "weights.pth")),
    await readParameters(join(TINY, "weights.safetensors")),
  );
  assert(c.keys.length > 100);
  assert(c.keys.every((k) => k.normDelta === 0));
  assert.deepEqual([c.onlyInA, c.onlyInB, c.shapeMismatch], [[], [], []]);
});
