import assert from "node:assert/strict";
import { join } from "node:path";
import { readSplitFile, splitTrainVal, writeSplitFile } from "../../core/data/splits.ts";
import { FORMATS_DIR, sharedTest } from "../shared.ts";

const items = Array.from({ length: 400 }, (_, i) => ({ id: `s${i % 20}/f${i}`, scene: `s${i % 20}` }));

Deno.test("train/val split is decided per item by hash, never by order", () => {
  const a = splitTrainVal(items, { seed: 7, valFraction: 0.2, by: "frame" });
  const b = splitTrainVal([...items].reverse(), { seed: 7, valFraction: 0.2, by: "frame" });
  assert.deepEqual(new Set(a.val.map((x) => x.id)), new Set(b.val.map((x) => x.id)));
  assert.ok(a.val.length > 50 && a.val.length < 110, `val ${a.val.length} of 400 at 20 %`);
  assert.equal(a.train.length + a.val.length, 400);
  const shard = splitTrainVal(items.slice(0, 100), { seed: 7, valFraction: 0.2, by: "frame" });
  assert.deepEqual(
    shard.val,
    a.val.filter((x) => items.indexOf(x) < 100),
    "a shard decides as the whole does",
  );
  const other = splitTrainVal(items, { seed: 8, valFraction: 0.2, by: "frame" });
  assert.notDeepEqual(other.val, a.val, "the seed matters");
});

Deno.test("split by scene keeps every scene on one side", () => {
  const { train, val } = splitTrainVal(items, { seed: "x", valFraction: 0.3, by: "scene" });
  const trainScenes = new Set(train.map((x) => x.scene));
  assert.ok(val.length > 0 && train.length > 0);
  for (const item of val) assert.ok(!trainScenes.has(item.scene), `${item.scene} in both parts`);
});

Deno.test("split files round-trip relative to a root; a missing file is named with its line", async () => {
  const dir = await Deno.makeTempDir();
  const files = ["a/rgb_0.jpg", "a/depth_0.png", "b/rgb_1.jpg", "b/depth_1.png"].map((p) => join(dir, p));
  for (const f of files) {
    await Deno.mkdir(join(f, ".."), { recursive: true });
    await Deno.writeFile(f, new Uint8Array(1));
  }
  const split = join(dir, "splits/train.txt");
  await writeSplitFile(split, [{ rgbPath: files[0], depthPath: files[1] }, {
    rgbPath: files[2],
    depthPath: files[3],
  }], dir);
  assert.equal(await Deno.readTextFile(split), "a/rgb_0.jpg a/depth_0.png\nb/rgb_1.jpg b/depth_1.png\n");
  const back = await readSplitFile(split, { root: dir });
  assert.deepEqual(back.map((x) => [x.rgbPath, x.depthPath, x.line]), [[files[0], files[1], 1], [
    files[2],
    files[3],
    2,
  ]]);
  await Deno.remove(files[3]);
  await assert.rejects(() => readSplitFile(split, { root: dir }), {
    code: "not-found",
    subject: files[3],
    message: /line 2/,
  });
  await Deno.writeTextFile(split, "a/rgb_0.jpg  a/depth_0.png\n");
  await assert.rejects(() => readSplitFile(split, { root: dir }), { code: "corrupt", message: /line 1/ });
  await Deno.remove(dir, { recursive: true });
});

sharedTest("the reference split files resolve against their dataset roots", async () => {
  for (const [dataset, count] of [["hypersim", 2], ["vkitti2", 6]] as const) {
    const root = join(FORMATS_DIR, dataset);
    const train = await readSplitFile(join(root, "splits/train.txt"), { root });
    assert.equal(train.length, count);
  }
});
