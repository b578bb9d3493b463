import assert from "node:assert/strict";
import { cropResized, drawTrainWindow, type TrainSample, trainTransform } from "../../core/data/transform.ts";

/** A W×H sample whose pixels and depths encode their own coordinates. */
function sample(W: number, H: number): TrainSample {
  const data = new Uint8Array(W * H * 3);
  const depth = new Float32Array(W * H);
  const valid = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = y * W + x;
      data.set([(x * 7) % 256, (y * 11) % 256, (x * y) % 256], p * 3);
      depth[p] = 1 + y * 1000 + x; // row and column readable from the value
      valid[p] = (x + y) % 5 === 0 ? 0 : 1;
    }
  }
  return { rgb: { width: W, height: H, channels: 3, data }, depth, valid };
}

Deno.test("crops stay inside the resized sample and cover both extremes", () => {
  const resized = { width: 30, height: 16 };
  const xs = new Set<number>();
  const ys = new Set<number>();
  let flips = 0;
  for (let id = 0; id < 2000; id++) {
    const w = drawTrainWindow(resized, { size: 14, seed: 3, id, epoch: 0 });
    assert.ok(w.x >= 0 && w.x <= 16 && w.y >= 0 && w.y <= 2, JSON.stringify(w));
    xs.add(w.x);
    ys.add(w.y);
    if (w.flip) flips++;
  }
  assert.equal(xs.size, 17); // every offset 0..16 is drawn, as np.random.randint(0, 30 - 14 + 1)
  assert.equal(ys.size, 3);
  assert.ok(Math.abs(flips / 2000 - 0.5) < 0.05, `flip rate ${flips / 2000}`);
});

Deno.test("the transform is a function of (seed, id, epoch) only", () => {
  const s = sample(40, 20);
  const a = trainTransform(s, { size: 14, seed: 1, id: "scene/frame.0001", epoch: 2 });
  const b = trainTransform(s, { size: 14, seed: 1, id: "scene/frame.0001", epoch: 2 });
  assert.deepEqual(a.window, b.window);
  assert.deepEqual(a.image, b.image);
  assert.deepEqual(a.depth, b.depth);
  const windows = new Set<string>();
  for (let epoch = 0; epoch < 20; epoch++) {
    windows.add(
      JSON.stringify(trainTransform(s, { size: 14, seed: 1, id: "scene/frame.0001", epoch }).window),
    );
  }
  assert.ok(windows.size > 5, "epochs should draw different windows");
});

Deno.test("flip mirrors image, depth and mask together", () => {
  const s = sample(40, 20); // resized to 28x14 at size 14
  const plain = cropResized(s, 14, { x: 5, y: 0, flip: false });
  const flipped = cropResized(s, 14, { x: 5, y: 0, flip: true });
  for (let y = 0; y < 14; y++) {
    for (let x = 0; x < 14; x++) {
      const p = y * 14 + x;
      const q = y * 14 + (13 - x);
      assert.equal(flipped.depth[p], plain.depth[q]);
      assert.equal(flipped.valid[p], plain.valid[q]);
      for (let c = 0; c < 3; c++) assert.equal(flipped.image[c * 196 + p], plain.image[c * 196 + q]);
    }
  }
});

Deno.test("depth is resized by OpenCV nearest neighbour: src = floor(dst * src/dst)", () => {
  const s = sample(40, 20); // 40x20 at 14 -> 28x14: column scale 40/28, row scale 20/14
  const item = cropResized(s, 14, { x: 10, y: 0, flip: false });
  assert.deepEqual(item.resized, { width: 28, height: 14 });
  // Output (row 3, col 4) is resized (3, 14): source row floor(3*20/14) = 4, column floor(14*40/28) = 20.
  assert.equal(item.depth[3 * 14 + 4], 1 + 4 * 1000 + 20);
  // Output (row 12, col 12) is resized (12, 22): source row floor(12*20/14) = 17, column floor(22*40/28) = 31.
  assert.equal(item.depth[12 * 14 + 12], 1 + 17 * 1000 + 31);
  // Output (row 13, col 13) reads source (18, 32), invalid ((18 + 32) % 5 == 0): valid 0 and depth 0.
  assert.equal(item.valid[13 * 14 + 13], 0);
  assert.equal(item.depth[13 * 14 + 13], 0);
  // Output (row 0, col 0) reads source (0, 14): valid.
  assert.equal(item.valid[0], 1);
});

Deno.test("an undersized window is refused", () => {
  assert.throws(() => cropResized(sample(40, 20), 14, { x: 15, y: 0, flip: false }), /leaves/);
});
