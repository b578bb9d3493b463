import assert from "node:assert/strict";
import {
  BufferPool,
  categoryOf,
  describePeak,
  formatBytes,
  RGBA32F_TEXEL_BYTES,
} from "../../core/gpu/pool.ts";
import { getGpu } from "../../core/gpu/device.ts";
import { fill } from "../../core/gpu/elementwise.ts";
import { Runtime } from "../../core/gpu/runtime.ts";
import { TrompeError } from "../../core/errors.ts";

Deno.test("accounting-only pool: live, peak, per-category peaks and the breakdown at the peak", () => {
  const pool = new BufferPool();
  assert(pool.accountingOnly);
  const w = pool.alloc("weights/blocks.0.attn.qkv.weight", 1000);
  const act = pool.alloc("act/block0/qkv", 3001); // rounded up to a multiple of 4
  assert.equal(act.bytes, 3004);
  assert.equal(act.gpu, undefined);
  pool.free(act);
  const t1 = pool.alloc("tmp/a", 500);
  const t2 = pool.alloc("tmp/b", 700);
  const stats = pool.stats();
  assert.equal(stats.liveBytes, 1000 + 500 + 700);
  // The peak was 1000 + 3004 (weights and act), not the later 2200.
  assert.equal(stats.peakBytes, 4004);
  assert.deepEqual(stats.peakBreakdown, { weights: 1000, act: 3004 });
  assert.deepEqual(stats.liveByCategory, { weights: 1000, tmp: 1200 });
  assert.deepEqual(stats.peakByCategory, { weights: 1000, act: 3004, tmp: 1200 });
  assert.equal(stats.allocations, 4);
  assert.deepEqual(pool.liveLabels().sort(), ["tmp/a", "tmp/b", "weights/blocks.0.attn.qkv.weight"]);
  pool.resetPeak();
  assert.equal(pool.stats().peakBytes, 2200);
  assert.deepEqual(pool.stats().peakByCategory, { weights: 1000, tmp: 1200 });
  pool.free(w);
  pool.free(t1);
  pool.free(t2);
  assert.equal(pool.stats().liveBytes, 0);
});

Deno.test("pool counts textures at 16 bytes a texel and refuses bad sizes and double frees", () => {
  const pool = new BufferPool();
  const tex = pool.allocTexture("scratch/matmul-pack", 3, 5, 0);
  assert.equal(tex.bytes, 3 * 5 * RGBA32F_TEXEL_BYTES);
  assert.equal(pool.stats().liveByCategory.scratch, 240);
  pool.free(tex);
  assert.throws(() => pool.free(tex), (e: unknown) => e instanceof TrompeError && e.code === "gpu");
  assert.throws(
    () => pool.alloc("tmp/x", -1),
    (e: unknown) => e instanceof TrompeError && e.code === "bad-argument",
  );
  assert.throws(
    () => pool.allocTexture("tmp/t", 0, 1, 0),
    (e: unknown) => e instanceof TrompeError && e.code === "bad-argument",
  );
});

Deno.test("pool on a device creates real buffers and textures and destroys them on free", async () => {
  const ctx = await getGpu();
  const pool = new BufferPool(ctx.device);
  const buffer = pool.alloc("act/x", 64);
  assert.equal(buffer.gpu?.size, 64);
  const tex = pool.allocTexture("scratch/t", 4, 2, GPUTextureUsage.TEXTURE_BINDING);
  assert.deepEqual([tex.texture?.width, tex.texture?.height, tex.texture?.depthOrArrayLayers], [4, 2, 1]);
  assert.equal(pool.stats().liveBytes, 64 + 128);
  pool.free(buffer);
  pool.free(tex);
  assert.equal(pool.stats().liveBytes, 0);
});

Deno.test("categories, byte formatting and the peak line", () => {
  assert.equal(categoryOf("weights/blocks.0.norm1.weight"), "weights");
  assert.equal(categoryOf("unlabelled"), "unlabelled");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(3 * 1024 ** 2), "3.00 MiB");
  assert.equal(formatBytes(1.5 * 1024 ** 3), "1.50 GiB");
  const pool = new BufferPool();
  pool.alloc("act/a", 2048);
  pool.alloc("weights/w", 4096);
  assert.equal(describePeak(pool.stats()), "peak 6.0 KiB (weights 4.0 KiB, act 2.0 KiB)");
});

Deno.test("a reusing pool hands freed buffers out again, and a reused tensor still reads as zeros", async () => {
  const ctx = await getGpu();
  const pool = new BufferPool(ctx.device, { reuse: true, reuseBytes: 1024 });
  const a = pool.alloc("act/a", 64);
  pool.free(a);
  assert.equal(pool.stats().keptBytes, 64);
  const b = pool.alloc("act/b", 64);
  assert.equal(b.gpu, a.gpu, "same size and usage: the kept buffer");
  assert.ok(b.reused && !a.reused);
  assert.equal(pool.alloc("act/c", 128).reused, undefined, "another size: a new buffer");
  // Over the kept budget a freed buffer is destroyed (after the next submit), not kept.
  const big = pool.alloc("act/big", 2048);
  pool.free(big);
  assert.equal(pool.stats().keptBytes, 0);
  pool.destroyRetired();

  // Through the Runtime: a tensor freed while a recorded command still writes it, then handed out again in
  // the same submit, reads as zeros, and what was written before still arrived where it was copied.
  const rt = await Runtime.create();
  const src = rt.upload("act/src", [4], Float32Array.of(1, 2, 3, 4));
  const dst = rt.tensor("act/dst", [4]);
  const scratch = rt.tensor("act/scratch", [16]);
  fill(rt, scratch, 7);
  rt.copy(scratch, dst, 16);
  rt.free(scratch);
  const again = rt.tensor("act/again", [16]);
  assert.ok(again.buffer.reused);
  assert.deepEqual([...await rt.read(again)], new Array(16).fill(0));
  assert.deepEqual([...await rt.read(dst)], [7, 7, 7, 7]);
  assert.deepEqual([...await rt.read(src)], [1, 2, 3, 4]);
  rt.free(src, dst, again);
});

Deno.test("an upload while commands are recorded lands in recording order, without a submit", async () => {
  const rt = await Runtime.create();
  const scratch = rt.tensor("act/scratch", [16]);
  const dst = rt.tensor("act/dst", [16]);
  fill(rt, scratch, 7);
  rt.copy(scratch, dst, 64);
  rt.free(scratch);
  const queue = rt.device.queue;
  const submit = queue.submit;
  let submits = 0;
  queue.submit = (buffers) => {
    submits += 1;
    submit.call(queue, buffers);
  };
  // The upload reuses scratch's buffer, which the recorded copy still reads: it must land after the copy.
  const data = Float32Array.from({ length: 16 }, (_, i) => i + 1);
  const up = rt.upload("act/up", [16], data);
  queue.submit = submit;
  assert.ok(up.buffer.reused);
  assert.equal(submits, 0, "no submit for a small upload mid-recording");
  assert.deepEqual([...await rt.read(dst)], new Array(16).fill(7));
  assert.deepEqual([...await rt.read(up)], [...data]);
  rt.free(dst, up);
});
