import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import type { Tensor } from "../../core/gpu/tensor.ts";
import { attentionBackward, attentionForward } from "../../core/nn/ops/attention.ts";
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
const CHUNKED = { heads: shape.heads, maxScoreBytes: 2 * 13 * 13 * 4 };

Deno.test("attention forward matches float64; chunks of heads and recomputes are bit-identical", async () => {
  const w = upload();
  const x = rt.upload("act/x", [shape.batch, shape.tokens, C], xs);
  const whole = attentionForward(rt, x, w, { heads: shape.heads }, "act/attn");
  const chunked = attentionForward(rt, x, w, CHUNKED, "act/attn2");
  const got = await rt.read(whole.y);
  const rel = relL2(got, ref.attention(toF64(xs), params, shape));
  console.log(`attention forward: rel_l2 ${rel.toExponential(2)}`);
  assert.ok(rel < 1e-6, `rel_l2 ${rel}`);
  assert.deepEqual(new Uint8Array((await rt.read(chunked.y)).buffer), new Uint8Array(got.buffer));
  rt.free(x, whole.y, whole.saved.qkv, whole.saved.ctx, chunked.y, chunked.saved.qkv, chunked.saved.ctx);
  rt.free(...tensors(w));
});

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
  for (const options of [{ heads: shape.heads }, CHUNKED]) {
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
    rt.free(y, saved.qkv, saved.ctx, dx, ...tensors(grads));
  }
  console.log(`attention backward: fd ${fd.toExponential(2)}; GPU vs CPU rel_l2 ${results.join(", ")}`);
  rt.free(x, dy, ...tensors(w));
});
