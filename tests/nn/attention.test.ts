import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import type { Tensor } from "../../core/gpu/tensor.ts";
import {
  attentionBackward,
  attentionForward,
  attentionInference,
  type AttentionOptions,
  attentionSavedTensors,
} from "../../core/nn/ops/attention.ts";
import { fusedBackward, fusedForward, STATS_PER_HEAD } from "../../core/nn/ops/attention_cpu.ts";
import { operandTexture, textureShapes } from "../../core/gpu/matmul_cpu.ts";
import { TrompeError } from "../../core/errors.ts";
import { generateBackward, generateForward } from "../../kernels/attention_cpu.gen.ts";
import { randomArray, relL2 } from "../shared.ts";
import * as ref from "./ref/attention.ts";
import { finiteDifferenceError, toF64 } from "./ref/gradcheck.ts";

const rt = await Runtime.create();
const shape = { batch: 2, tokens: 13, channels: 24, heads: 3 };
const C = shape.channels;
const params = {
  qkvW: toF64(randomArray(3 * C * C, 1).map((v) => v * 0.4)),
  qkvB: toF64(randomArray(3 * C, 2)),
  projW: toF64(randomArray(C * C, 3).map((v) => v * 0.4)),
  projB: toF64(randomArray(C, 4)),
};
const xs = randomArray(shape.batch * shape.tokens * C, 5);

function upload() {
  const t = (name: string, dims: number[], data: Float64Array) =>
    rt.upload(name, dims, Float32Array.from(data));
  return {
    qkv: {
      weight: t("weights/qkv.weight", [3 * C, C], params.qkvW),
      bias: t("weights/qkv.bias", [3 * C], params.qkvB),
    },
    proj: {
      weight: t("weights/proj.weight", [C, C], params.projW),
      bias: t("weights/proj.bias", [C], params.projB),
    },
  };
}

function tensors(w: ReturnType<typeof upload>): Tensor[] {
  return [w.qkv.weight, w.qkv.bias!, w.proj.weight, w.proj.bias!];
}

// One storage binding holds 2 heads' scores: the 3 heads run as chunks of 2 and 1.
const CHUNKED = { heads: shape.heads, maxScoreBytes: 2 * 13 * 13 * 4, fused: false };
const MATERIALISED = { heads: shape.heads, fused: false };
// On a CPU adapter (lavapipe, as in CI) the fused kernels (core/nn/ops/attention_cpu.ts); elsewhere the
// materialised path again.
const FUSED = { heads: shape.heads, fused: rt.ctx.isCpu };

Deno.test("the fused attention kernels are what kernels/attention_cpu.gen.ts writes", () => {
  const kernels = new URL("../../kernels/", import.meta.url);
  assert.equal(Deno.readTextFileSync(new URL("attention_cpu.wgsl", kernels)), generateForward());
  assert.equal(Deno.readTextFileSync(new URL("attention_cpu_backward.wgsl", kernels)), generateBackward());
});

Deno.test("attention forward matches float64, materialised and fused; chunks and recomputes are bit-identical", async () => {
  const w = upload();
  const x = rt.upload("act/x", [shape.batch, shape.tokens, C], xs);
  const want = ref.attention(toF64(xs), params, shape);
  const run = (o: AttentionOptions) => attentionForward(rt, x, w, o, "act/attn");
  const [whole, chunked, fused, again] = [run(MATERIALISED), run(CHUNKED), run(FUSED), run(FUSED)];
  const got = await rt.read(whole.y);
  const gotFused = await rt.read(fused.y);
  const rel = relL2(got, want);
  const relFused = relL2(gotFused, want);
  console.log(
    `attention forward: rel_l2 materialised ${rel.toExponential(2)}, fused ${relFused.toExponential(2)}`,
  );
  assert.ok(rel < 1e-6, `rel_l2 ${rel}`);
  assert.ok(relFused < 1e-6, `fused: rel_l2 ${relFused}`);
  assert.deepEqual(new Uint8Array((await rt.read(chunked.y)).buffer), new Uint8Array(got.buffer));
  assert.deepEqual(new Uint8Array((await rt.read(again.y)).buffer), new Uint8Array(gotFused.buffer));
  for (const r of [whole, chunked, fused, again]) rt.free(r.y, ...attentionSavedTensors(r.saved));
  rt.free(x, ...tensors(w));
});

Deno.test("attention keeping nothing equals the forward bit for bit: one item (qkv straight into the fused kernel's texture on a CPU adapter) and two", async () => {
  const w = upload();
  for (const batch of [1, 2]) {
    const x = rt.upload("act/x", [batch, shape.tokens, C], xs.subarray(0, batch * shape.tokens * C));
    const { y, saved } = attentionForward(rt, x, w, FUSED, "act/attn");
    const inferred = attentionInference(rt, x, w, FUSED, "act/attn");
    const want = await rt.read(y);
    assert.deepEqual(new Uint8Array((await rt.read(inferred)).buffer), new Uint8Array(want.buffer));
    const rel = relL2(want, ref.attention(toF64(xs.subarray(0, x.size)), params, { ...shape, batch }));
    assert.ok(rel < 1e-6, `batch ${batch}: rel_l2 ${rel}`);
    rt.free(x, y, inferred, ...attentionSavedTensors(saved));
  }
  rt.free(...tensors(w));
});

Deno.test("attention recomputed with the fused path's kept ctx and statistics equals running it again", async () => {
  const w = upload();
  const x = rt.upload("act/x", [shape.batch, shape.tokens, C], xs);
  const first = attentionForward(rt, x, w, FUSED, "act/attn");
  if (!first.saved.stats) {
    // Not a CPU adapter: nothing to keep, and asking to reuse it is refused.
    const kept = { ctx: first.saved.ctx, stats: first.saved.ctx };
    assert.throws(() => attentionForward(rt, x, w, FUSED, "act/attn", kept), TrompeError);
  } else {
    const kept = { ctx: first.saved.ctx, stats: first.saved.stats };
    const again = attentionForward(rt, x, w, FUSED, "act/attn");
    const reused = attentionForward(rt, x, w, FUSED, "act/attn", kept);
    assert.equal(reused.saved.ctx, kept.ctx);
    assert.equal(reused.saved.stats, kept.stats);
    const bits = async (t: Tensor) => new Uint8Array((await rt.read(t)).buffer);
    for (
      const [name, a, b] of [["y", again.y, reused.y], ["qkv", again.saved.qkv, reused.saved.qkv]] as const
    ) {
      assert.deepEqual(await bits(b), await bits(a), name);
    }
    assert.deepEqual(await bits(kept.ctx), await bits(again.saved.ctx), "ctx");
    assert.deepEqual(await bits(kept.stats), await bits(again.saved.stats!), "stats");
    // The materialised path has no statistics to take.
    assert.throws(() => attentionForward(rt, x, w, MATERIALISED, "act/attn", kept), TrompeError);
    rt.free(again.y, ...attentionSavedTensors(again.saved), reused.y, reused.saved.qkv);
  }
  rt.free(x, first.y, ...attentionSavedTensors(first.saved), ...tensors(w));
});

Deno.test("fused attention at head dimension 64 (every texel of a head row), forward and backward vs float64", async () => {
  // 70 tokens: a partial block of queries per lane, of workgroup rows and of keys.
  const s = { batch: 2, tokens: 70, channels: 128, heads: 2 };
  const c = s.channels;
  const p = {
    qkvW: toF64(randomArray(3 * c * c, 21).map((v) => v * 0.3)),
    qkvB: toF64(randomArray(3 * c, 22)),
    projW: toF64(randomArray(c * c, 23).map((v) => v * 0.2)),
    projB: toF64(randomArray(c, 24)),
  };
  const xs64 = randomArray(s.batch * s.tokens * c, 25);
  const dys = randomArray(xs64.length, 26);
  const t = (name: string, dims: number[], data: Float64Array) =>
    rt.upload(name, dims, Float32Array.from(data));
  const w = {
    qkv: {
      weight: t("weights/qkv.weight", [3 * c, c], p.qkvW),
      bias: t("weights/qkv.bias", [3 * c], p.qkvB),
    },
    proj: { weight: t("weights/proj.weight", [c, c], p.projW), bias: t("weights/proj.bias", [c], p.projB) },
  };
  const x = rt.upload("act/x", [s.batch, s.tokens, c], xs64);
  const dy = rt.upload("grads/dy", [s.batch, s.tokens, c], dys);
  const options = { heads: s.heads, fused: rt.ctx.isCpu };
  const { y, saved } = attentionForward(rt, x, w, options, "act/attn");
  const grads = {
    qkv: { weight: rt.tensor("grads/qkv.weight", [3 * c, c]), bias: rt.tensor("grads/qkv.bias", [3 * c]) },
    proj: { weight: rt.tensor("grads/proj.weight", [c, c]), bias: rt.tensor("grads/proj.bias", [c]) },
  };
  const dx = attentionBackward(rt, x, w, saved, dy, grads, options, "grads/dx");
  const want = ref.attentionBackward(toF64(xs64), p, toF64(dys), s);
  const pairs: [string, Tensor, Float64Array][] = [
    ["y", y, ref.attention(toF64(xs64), p, s)],
    ["x", dx, want.x],
    ["qkv.weight", grads.qkv.weight, want.qkvW],
    ["qkv.bias", grads.qkv.bias, want.qkvB],
    ["proj.weight", grads.proj.weight, want.projW],
    ["proj.bias", grads.proj.bias, want.projB],
  ];
  const results: string[] = [];
  for (const [name, tensor, expected] of pairs) {
    const rel = relL2(await rt.read(tensor), expected);
    results.push(`${name} ${rel.toExponential(2)}`);
    assert.ok(rel < 2e-6, `${name}: rel_l2 ${rel}`);
  }
  console.log(`fused attention, head dim 64: rel_l2 ${results.join(", ")}`);
  rt.free(x, dy, y, dx, ...attentionSavedTensors(saved), ...tensors(w), ...tensors(grads));
});

Deno.test("asking for the fused kernels where they cannot run names the reason", () => {
  // Head dimension 3: not whole texels.
  const x = rt.upload("act/x", [1, 4, 6], randomArray(24, 30));
  const w = upload6();
  assert.throws(
    () => attentionForward(rt, x, w, { heads: 2, fused: true }, "act/attn"),
    (e) => e instanceof TrompeError && /head dimension/.test(e.message),
  );
  rt.free(x, ...tensors(w));
});

function upload6() {
  const t = (name: string, dims: number[], seed: number) =>
    rt.upload(name, dims, randomArray(dims.reduce((a, b) => a * b), seed));
  return {
    qkv: { weight: t("weights/qkv.weight", [18, 6], 31), bias: t("weights/qkv.bias", [18], 32) },
    proj: { weight: t("weights/proj.weight", [6, 6], 33), bias: t("weights/proj.bias", [6], 34) },
  };
}

Deno.test("attention backward: float64 finite differences, then GPU vs CPU for dx and all four parameters", async () => {
  const small = { batch: 1, tokens: 5, channels: 6, heads: 2 };
  const p = {
    qkvW: toF64(randomArray(3 * 36, 6)),
    qkvB: toF64(randomArray(18, 7)),
    projW: toF64(randomArray(36, 8)),
    projB: toF64(randomArray(6, 9)),
  };
  const fd = finiteDifferenceError(
    { x: toF64(randomArray(30, 10)), ...p },
    (i) => ref.attention(i.x, i as unknown as ref.AttentionParams, small),
    (i, r) =>
      ref.attentionBackward(i.x, i as unknown as ref.AttentionParams, r, small) as unknown as Record<
        string,
        Float64Array
      >,
  );
  assert.ok(fd < 1e-7, `finite differences ${fd}`);

  const w = upload();
  const x = rt.upload("act/x", [shape.batch, shape.tokens, C], xs);
  const dys = randomArray(xs.length, 11);
  const want = ref.attentionBackward(toF64(xs), params, toF64(dys), shape);
  const dy = rt.upload("grads/dy", [shape.batch, shape.tokens, C], dys);
  const results: string[] = [];
  for (const options of [MATERIALISED, CHUNKED, FUSED]) {
    const { y, saved } = attentionForward(rt, x, w, options, "act/attn");
    const grads = {
      qkv: { weight: rt.tensor("grads/qkv.weight", [3 * C, C]), bias: rt.tensor("grads/qkv.bias", [3 * C]) },
      proj: { weight: rt.tensor("grads/proj.weight", [C, C]), bias: rt.tensor("grads/proj.bias", [C]) },
    };
    const dx = attentionBackward(rt, x, w, saved, dy, grads, options, "grads/dx");
    const pairs: [string, Tensor, Float64Array][] = [
      ["x", dx, want.x],
      ["qkv.weight", grads.qkv.weight, want.qkvW],
      ["qkv.bias", grads.qkv.bias, want.qkvB],
      ["proj.weight", grads.proj.weight, want.projW],
      ["proj.bias", grads.proj.bias, want.projB],
    ];
    for (const [name, t, expected] of pairs) {
      const rel = relL2(await rt.read(t), expected);
      results.push(`${name} ${rel.toExponential(2)}`);
      assert.ok(rel < 2e-6, `${name}: rel_l2 ${rel}`);
    }
    rt.free(y, ...attentionSavedTensors(saved), dx, ...tensors(grads));
  }
  console.log(`attention backward: fd ${fd.toExponential(2)}; GPU vs CPU rel_l2 ${results.join(", ")}`);
  rt.free(x, dy, ...tensors(w));
});

Deno.test("fused attention backward never reads what reused textures held past the last token", async () => {
  // 70 tokens: the dQ product reads dS and K to 72 rows (whole texels of k), rows the backward must zero.
  const g = { batch: 1, tokens: 70, channels: 128, heads: 2, headDim: 64 };
  const { tokens: T, channels: c } = g;
  const qkv = rt.upload("act/qkv", [1, T, 3 * c], randomArray(T * 3 * c, 31));
  const dCtx = rt.upload("act/dctx", [1, T, c], randomArray(T * c, 32));
  const ctx = rt.tensor("act/ctx", [1, T, c]);
  const stats = rt.tensor("act/stats", [1, T, g.heads, STATS_PER_HEAD]);
  const dQkv = rt.tensor("act/dqkv", [1, T, 3 * c]);
  fusedForward(rt, g, qkv, ctx, stats);
  const backward = async () => {
    fusedBackward(rt, g, { qkv, ctx, dCtx, stats, dQkv });
    return await rt.read(dQkv);
  };
  const clean = await backward();
  // NaN in every texel of the two scratch textures the backward takes from the pool, then freed to it.
  const { a, b } = textureShapes({ m: g.headDim, n: T, k: T }, { aMPacked: true, bKPacked: false });
  const poisoned = [a, b].map(([width, height]) => {
    const ld = Math.ceil((4 * width) / 64) * 64; // floats a row: a multiple of 256 bytes
    const nan = rt.upload("tmp/nan", [height * ld], new Float32Array(height * ld).fill(NaN));
    const texture = operandTexture(rt, [width, height]);
    rt.copyToTexture(nan, 0, ld, texture, width, height);
    rt.free(nan);
    return texture;
  });
  for (const texture of poisoned) rt.pool.free(texture);
  const again = await backward();
  assert.ok(again.every(Number.isFinite), "dqkv finite after the pool's textures held NaN");
  assert.deepEqual(again, clean);
  rt.free(qkv, dCtx, ctx, stats, dQkv);
});
