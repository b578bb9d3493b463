import assert from "node:assert/strict";
import { Runtime } from "../../core/gpu/runtime.ts";
import { conv2dForward, conv2dReluPointwiseForward } from "../../core/nn/ops/conv2d.ts";
import { rowsPointwiseApplies } from "../../core/nn/ops/conv_rows_product.ts";
import { resizeBilinearForward } from "../../core/nn/ops/resize_bilinear.ts";
import { bilinearAlignCorners } from "../../core/nn/resize_ref.ts";
import { assertSameBits, randomArray, relL2 } from "../shared.ts";
import { conv2dRef, type Geom } from "./ref/dpt_conv.ts";

const cpuRt = await Runtime.create();
/** The same device taken as a GPU: the two convs on conv.wgsl. */
const gpuRt = new Runtime({ ...cpuRt.ctx, isCpu: false });

// 3×3 → ReLU → 1×1 to one channel, as the DPT head's output_conv2. On a CPU adapter the product over padded
// rows runs the 1×1 in its epilogue: 32 channels (the head's), batch 2, 120 rows of 230 taking two runs
// each (RUN_FLOATS); 12 channels from 21 (a partial block of rows and of input texels), no first bias.
const CASES: (Geom & { bias1: boolean; bias2: boolean })[] = [
  { batch: 2, cin: 32, h: 120, w: 230, cout: 32, k: 3, stride: 1, pad: 1, bias1: true, bias2: true },
  { batch: 1, cin: 21, h: 9, w: 13, cout: 12, k: 3, stride: 1, pad: 1, bias1: false, bias2: true },
  { batch: 1, cin: 8, h: 6, w: 5, cout: 16, k: 3, stride: 1, pad: 1, bias1: true, bias2: false },
];

function upload(rt: Runtime, c: (typeof CASES)[number]) {
  const x = randomArray(c.batch * c.cin * c.h * c.w, 1);
  const w1 = randomArray(c.cout * c.cin * 9, 2).map((v) => v * 0.3);
  const b1 = c.bias1 ? randomArray(c.cout, 3) : undefined;
  const w2 = randomArray(c.cout, 4);
  const b2 = c.bias2 ? Float32Array.of(0.375) : undefined;
  const first = {
    name: "first",
    w: {
      weight: rt.upload("weights/w1", [c.cout, c.cin, 3, 3], w1),
      bias: b1 && rt.upload("weights/b1", [c.cout], b1),
    },
    options: { pad: 1 },
  };
  const pointwise = {
    name: "pointwise",
    w: {
      weight: rt.upload("weights/w2", [1, c.cout, 1, 1], w2),
      bias: b2 && rt.upload("weights/b2", [1], b2),
    },
  };
  const hidden = conv2dRef(x, w1, b1, c).map((v) => Math.max(v, 0));
  const want = conv2dRef(hidden, w2, b2, { ...c, cin: c.cout, cout: 1, k: 1, pad: 0 });
  return { x: rt.upload("act/x", [c.batch, c.cin, c.h, c.w], x), first, pointwise, want };
}

for (const c of CASES) {
  for (const [rt, kernels] of [[cpuRt, ""], [gpuRt, " (GPU kernels)"]] as const) {
    Deno.test(`conv → ReLU → 1×1 ${c.batch}×${c.cin}×${c.h}×${c.w} → ${c.cout} → 1${kernels}: float64`, async () => {
      const { x, first, pointwise, want } = upload(rt, c);
      const y = conv2dReluPointwiseForward(rt, x, first, pointwise);
      assert.deepEqual(y.shape, [c.batch, 1, c.h, c.w]);
      assert(relL2(await rt.read(y), want) < 1e-6);
      rt.free(x, y);
    });
  }
}

Deno.test("conv → ReLU → 1×1 on a CPU adapter: the fused product gives the two convs' bits", async () => {
  const c = CASES[0];
  assert(rowsPointwiseApplies(cpuRt, { ...c, kh: 3, kw: 3, oh: c.h, ow: c.w }));
  const { x, first, pointwise } = upload(cpuRt, c);
  const fused = conv2dReluPointwiseForward(cpuRt, x, first, pointwise);
  const hidden = conv2dForward(cpuRt, { x }, first.w, first.name, { pad: 1, reluOut: true }).y;
  const separate = conv2dForward(cpuRt, { x: hidden }, pointwise.w, pointwise.name).y;
  assertSameBits(await cpuRt.read(fused), await cpuRt.read(separate), "fused product");
  cpuRt.free(x, fused, hidden, separate);
});

Deno.test("conv → ReLU → 1×1: a second conv that is not 1×1 to one channel is refused by name", () => {
  const { x, first } = upload(cpuRt, CASES[2]);
  const wide = { name: "wide", w: { weight: cpuRt.upload("weights/w3", [2, 16, 1, 1], randomArray(32, 5)) } };
  assert.throws(() => conv2dReluPointwiseForward(cpuRt, x, first, wide), /wide: weight \[2,16,1,1\]/);
  cpuRt.free(x);
});

// With the upsampling before it (the head's output stage at inference): on a CPU adapter each run's input
// rows are the resize's, the resized image never stored. Batch 2, 40×61 → 120×230 (two runs an item).
Deno.test("resize → conv → ReLU → 1×1: float64 on both kernels, and the fused rows give the separate ops' bits", async () => {
  const c = CASES[0];
  const [inH, inW] = [40, 61];
  const small = randomArray(c.batch * c.cin * inH * inW, 21);
  const up = bilinearAlignCorners(small, c.batch * c.cin, inH, inW, c.h, c.w);
  const results: Float32Array[] = [];
  for (const rt of [cpuRt, gpuRt]) {
    const { x, first, pointwise } = upload(rt, c);
    const xs = rt.upload("act/small", [c.batch, c.cin, inH, inW], small);
    const y = conv2dReluPointwiseForward(rt, xs, first, pointwise, { size: [c.h, c.w], name: "upsample" });
    assert.deepEqual(y.shape, [c.batch, 1, c.h, c.w]);
    results.push(await rt.read(y));
    const hidden = conv2dRef(up, await rt.read(first.w.weight), await rt.read(first.w.bias!), c).map((v) =>
      Math.max(v, 0)
    );
    const want = conv2dRef(hidden, await rt.read(pointwise.w.weight), Float32Array.of(0.375), {
      ...c,
      cin: c.cout,
      cout: 1,
      k: 1,
      pad: 0,
    });
    assert(relL2(results[results.length - 1], want) < 1e-6);
    rt.free(x, xs, y);
  }
  const { first, pointwise } = upload(cpuRt, c);
  const xs = cpuRt.upload("act/small", [c.batch, c.cin, inH, inW], small);
  const resized = resizeBilinearForward(cpuRt, xs, [c.h, c.w], "upsample").y;
  const separate = conv2dReluPointwiseForward(cpuRt, resized, first, pointwise);
  assertSameBits(results[0], await cpuRt.read(separate), "resized rows");
  cpuRt.free(xs, resized, separate);
});
