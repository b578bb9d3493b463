import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { adapterFor } from "../../core/data/adapters.ts";
import { DATASET_NAMES } from "../../core/data/datasets.ts";
import { trainTransform } from "../../core/data/transform.ts";
import { epochOrder, listTrainVal, type LoadedItem, SampleLoader } from "../../core/train/data_loader.ts";

const FIXTURES = resolve(import.meta.dirname!, "../../fixtures");

async function collect(
  loader: SampleLoader,
  kind: "train" | "val",
  refs: Parameters<SampleLoader["items"]>[1],
) {
  const out: LoadedItem[] = [];
  for await (const { item, error } of loader.items(kind, refs, 3)) {
    assert.equal(error, undefined);
    out.push(item!);
  }
  return out;
}

for (const dataset of DATASET_NAMES) {
  Deno.test(`${dataset}: workers decode the official train transform, the same for any worker count`, async () => {
    const root = join(FIXTURES, dataset);
    const split = join(root, "splits", "train.txt");
    const { train, val } = await listTrainVal(dataset, root, split, join(root, "splits", "val.txt"), 7);
    assert.ok(train.length > 0 && val.length > 0);
    const size = 56;
    const results = [];
    for (const workers of [1, 2]) {
      const loader = new SampleLoader({ dataset, root, size, seed: 7, workers, prefetch: 3 });
      results.push(await collect(loader, "train", train));
      loader.close();
    }
    assert.deepEqual(results[0], results[1]);
    // The first item equals the transform run here, seeded by (seed, frame, epoch).
    const sample = await adapterFor(dataset).read(root, train[0]);
    const want = trainTransform(sample, { size, seed: 7, id: train[0].rgb, epoch: 3 });
    assert.deepEqual(results[0][0].image, want.image);
    assert.deepEqual(results[0][0].valid, want.valid);
    for (let i = 0; i < want.depth.length; i++) {
      assert.equal(results[0][0].depth[i], want.valid[i] ? want.depth[i] : 0);
    }
    // Validation items: the official image2tensor input and the ground truth at the frame's size.
    const loader = new SampleLoader({ dataset, root, size, seed: 7, workers: 1 });
    const [v] = await collect(loader, "val", val.slice(0, 1));
    loader.close();
    assert.equal(v.image.length, 3 * v.inputHeight! * v.inputWidth!);
    assert.equal(v.depth.length, v.width * v.height);
    assert.ok(v.depth.every((d, i) => v.valid[i] || d === 0), "invalid pixels carry depth 0");
  });
}

Deno.test("epoch order is a seeded permutation; one split divides 80/20 by seed, repeatably", async () => {
  const root = join(FIXTURES, "hypersim");
  const split = join(root, "splits", "train.txt");
  const a = await listTrainVal("hypersim", root, split, undefined, 1);
  const b = await listTrainVal("hypersim", root, split, undefined, 1);
  assert.deepEqual(a, b);
  assert.equal(a.train.length + a.val.length, 4);
  const frames = a.train.concat(a.val);
  const e0 = epochOrder(frames, 5, 0);
  assert.deepEqual(e0, epochOrder(frames, 5, 0));
  assert.deepEqual([...e0].sort((x, y) => x.index - y.index), [...frames].sort((x, y) => x.index - y.index));
  const orders = new Set([0, 1, 2, 3, 4, 5].map((e) => epochOrder(frames, 5, e).map((r) => r.index).join()));
  assert.ok(orders.size > 1, "epochs reshuffle");
});
